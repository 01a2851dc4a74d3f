import { type TelegramError, TelegramGateway } from "@botfleet/application"
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, Tracer } from "effect"
import * as TelegramGatewayHttp from "../../src/telegramGateway/TelegramGatewayHttp.ts"

const SECRET = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
const token = Redacted.make(SECRET)
const BOT = { id: 123456789, username: "fleet_test_bot", firstName: "Fleet" }
const CHAT = 4242

const Env = Layer.unwrap(
  Effect.gen(function* () {
    const fake = yield* FakeTelegram.FakeTelegram
    // Short, so the hang test times out quickly; long polls add their own timeout to it.
    return TelegramGatewayHttp.layer({ apiRoot: fake.apiRoot, requestTimeout: "300 millis" })
  })
).pipe(Layer.provideMerge(FakeTelegram.layer()))

/** A fresh fake state and the gateway under test. */
const setup = Effect.gen(function* () {
  const fake = yield* FakeTelegram.FakeTelegram
  fake.reset()
  fake.registerBot(SECRET, BOT)
  const telegram = yield* TelegramGateway
  return { fake, telegram }
})

const assertNoToken = (error: TelegramError) => {
  const everything = `${error.message} ${error.description} ${JSON.stringify(error)} ${String(error)}`
  assert.notInclude(everything, SECRET)
  assert.notInclude(everything, SECRET.split(":")[1]!)
}

// Real sockets and real time: retries and timeouts must be measured on the live clock.
layer(Env, { excludeTestServices: true })("TelegramGatewayHttp against FakeTelegram", (it) => {
  it.effect("getMe answers the bot's identity", () =>
    Effect.gen(function* () {
      const { telegram } = yield* setup
      const me = yield* telegram.getMe(token)
      assert.deepStrictEqual(me, BOT)
    })
  )

  it.effect("an unknown token is unauthorized, and the token is nowhere in the error", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const other = "987654321:AAFakeFakeFakeFakeFakeFakeFakeFake"
      const error = yield* Effect.flip(telegram.getMe(Redacted.make(other)))
      assert.strictEqual(error.kind, "unauthorized")
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.method, "getMe")
      assert.notInclude(JSON.stringify(error) + error.message, other)
      assert.strictEqual(fake.calls("getMe"), 1)
    })
  )

  it.effect("sendPhoto uploads the bytes as multipart, replying to the message", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 13, 10])
      const sent = yield* telegram.sendPhoto(token, {
        chatId: CHAT,
        photo: bytes,
        fileName: "image.png",
        replyToMessageId: 7
      })
      assert.strictEqual(sent.messageId, 1)
      assert.strictEqual(fake.photos.length, 1)
      const photo = fake.photos[0]!
      assert.deepStrictEqual([...photo.photo], [...bytes])
      assert.strictEqual(photo.fileName, "image.png")
      assert.strictEqual(photo.chatId, CHAT)
      assert.strictEqual(photo.replyToMessageId, 7)
    })
  )

  it.effect("a refused sendPhoto is a TelegramError, tried once", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendPhoto", FakeTelegram.Fault.apiError(400, "Bad Request: IMAGE_PROCESS_FAILED"))
      const error = yield* Effect.flip(
        telegram.sendPhoto(token, { chatId: CHAT, photo: new Uint8Array([1]), fileName: "image.png" })
      )
      assert.strictEqual(error.kind, "bad_request")
      assert.strictEqual(error.method, "sendPhoto")
      assertNoToken(error)
      assert.strictEqual(fake.calls("sendPhoto"), 1)
      assert.strictEqual(fake.photos.length, 0)
    })
  )

  it.effect("sendMessage returns the message id; the fake saw text, parse_mode and reply", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const first = yield* telegram.sendMessage(token, {
        chatId: CHAT,
        text: "*hello*",
        parseMode: "Markdown"
      })
      const second = yield* telegram.sendMessage(token, { chatId: CHAT, text: "plain", replyToMessageId: 7 })
      assert.isAbove(second.messageId, first.messageId)
      const sent = fake.sentTo(CHAT, BOT.id)
      assert.deepStrictEqual(
        sent.map(({ text, parseMode, replyToMessageId, messageId }) => ({
          text,
          parseMode,
          replyToMessageId,
          messageId
        })),
        [
          { text: "*hello*", parseMode: "Markdown", replyToMessageId: null, messageId: first.messageId },
          { text: "plain", parseMode: null, replyToMessageId: 7, messageId: second.messageId }
        ]
      )
    })
  )

  it.effect("429 with a short retry_after is waited out and retried", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendMessage", FakeTelegram.Fault.rateLimited(1))
      const started = Date.now()
      yield* telegram.sendMessage(token, { chatId: CHAT, text: "after the wait" })
      assert.isAtLeast(Date.now() - started, 950)
      assert.strictEqual(fake.calls("sendMessage"), 2)
      assert.strictEqual(fake.sentTo(CHAT, BOT.id).length, 1)
    })
  )

  it.effect("429 with a long retry_after fails at once so the caller can reschedule", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendMessage", FakeTelegram.Fault.rateLimited(60))
      const error = yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "later" }))
      assert.strictEqual(error.kind, "rate_limited")
      assert.strictEqual(error.retryAfterSeconds, 60)
      assert.isTrue(error.isRetryable)
      assert.strictEqual(fake.calls("sendMessage"), 1)
    })
  )

  it.effect("a post's 429 asking more than a second fails at once: the pipeline waits without its slot", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendMessage", FakeTelegram.Fault.rateLimited(3))
      const started = Date.now()
      const error = yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "later" }))
      assert.isBelow(Date.now() - started, 1_000)
      assert.strictEqual(error.kind, "rate_limited")
      assert.strictEqual(error.retryAfterSeconds, 3)
      assert.strictEqual(fake.calls("sendMessage"), 1)
      assert.strictEqual(fake.sentTo(CHAT, BOT.id).length, 0)
    })
  )

  it.effect("500 twice, then success", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendMessage", FakeTelegram.Fault.serverError(500), 2)
      const { messageId } = yield* telegram.sendMessage(token, { chatId: CHAT, text: "third time" })
      assert.strictEqual(fake.calls("sendMessage"), 3)
      assert.deepStrictEqual(
        fake.sentTo(CHAT, BOT.id).map((message) => message.messageId),
        [messageId]
      )
    })
  )

  it.effect("500 on every attempt is unavailable after two retries", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendMessage", FakeTelegram.Fault.serverError(502), 10)
      const error = yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "never" }))
      assert.strictEqual(error.kind, "unavailable")
      assert.strictEqual(error.status, 502)
      assert.strictEqual(fake.calls("sendMessage"), 3)
      assertNoToken(error)
    })
  )

  it.effect("a reset connection is unavailable, without the token in the message", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("getMe", FakeTelegram.Fault.reset, 3)
      const error = yield* Effect.flip(telegram.getMe(token))
      assert.strictEqual(error.kind, "unavailable")
      assert.isNull(error.status)
      assert.strictEqual(fake.calls("getMe"), 3)
      assertNoToken(error)
    })
  )

  it.effect("a hanging request times out as unavailable", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendChatAction", FakeTelegram.Fault.hang, 3)
      const error = yield* Effect.flip(telegram.sendChatAction(token, CHAT, "typing"))
      assert.strictEqual(error.kind, "unavailable")
      assert.isNull(error.status)
      assert.include(error.description, "300 ms")
      assert.strictEqual(fake.calls("sendChatAction"), 3)
    })
  )

  it.effect("a slow answer within the timeout succeeds", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.setLatency("sendChatAction", 100)
      yield* telegram.sendChatAction(token, CHAT, "typing")
      assert.deepStrictEqual(
        fake.chatActions.map(({ chatId, action }) => ({ chatId, action })),
        [{ chatId: CHAT, action: "typing" }]
      )
    })
  )

  it.effect("401 (revoked token) and 403 are not retried", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("sendMessage", FakeTelegram.Fault.apiError(403, "Forbidden: bot was blocked by the user"))
      const blocked = yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "hi" }))
      assert.strictEqual(blocked.kind, "forbidden")
      assert.strictEqual(fake.calls("sendMessage"), 1)

      fake.revokeToken(SECRET)
      const revoked = yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "hi" }))
      assert.strictEqual(revoked.kind, "unauthorized")
      assert.isFalse(revoked.isRetryable)
      assert.strictEqual(fake.calls("sendMessage"), 2)
      assertNoToken(revoked)
    })
  )

  it.effect("an unbalanced entity is a bad_request the caller can resend as plain text", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const error = yield* Effect.flip(
        telegram.sendMessage(token, { chatId: CHAT, text: "snake_case is *bold", parseMode: "Markdown" })
      )
      assert.strictEqual(error.kind, "bad_request")
      assert.strictEqual(error.status, 400)
      assert.isTrue(error.isEntityParseError)
      assert.strictEqual(fake.calls("sendMessage"), 1)
      const plain = yield* telegram.sendMessage(token, { chatId: CHAT, text: "snake_case is *bold" })
      assert.deepStrictEqual(
        fake.sentTo(CHAT, BOT.id).map((message) => message.messageId),
        [plain.messageId]
      )
    })
  )

  it.effect("a message over 4096 characters is a bad_request, not an entity error", () =>
    Effect.gen(function* () {
      const { telegram } = yield* setup
      const error = yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "x".repeat(4097) }))
      assert.strictEqual(error.kind, "bad_request")
      assert.include(error.description, "message is too long")
      assert.isFalse(error.isEntityParseError)
    })
  )

  it.effect("getUpdates holds a long poll until an update is pushed, and the offset confirms it", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const poll = yield* Effect.forkChild(telegram.getUpdates(token, { offset: 0, timeoutSeconds: 5 }))
      yield* Effect.sleep("100 millis")
      const update = { message: { message_id: 1, chat: { id: CHAT, type: "private" }, date: 0, text: "hi" } }
      const updateId = fake.pushUpdate(SECRET, update)
      const updates = yield* Fiber.join(poll)
      assert.deepStrictEqual(updates, [{ ...update, update_id: updateId }])

      const next = yield* telegram.getUpdates(token, { offset: updateId + 1, timeoutSeconds: 0 })
      assert.deepStrictEqual(next, [])
    })
  )

  it.effect("a revoked token's poll is unauthorized and asked once", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.revokeToken(SECRET)
      const error = yield* Effect.flip(telegram.getUpdates(token, { offset: 0, timeoutSeconds: 5 }))
      assert.strictEqual(error.kind, "unauthorized")
      assert.strictEqual(error.status, 401)
      assert.strictEqual(fake.calls("getUpdates"), 1)
      assertNoToken(error)
    })
  )

  it.effect("a poll whose connection is reset is asked again on a new one", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      fake.failNext("getUpdates", FakeTelegram.Fault.reset)
      const updateId = fake.pushUpdate(SECRET, { message: { text: "after a reset" } })
      const updates = yield* telegram.getUpdates(token, { offset: 0, timeoutSeconds: 5 })
      assert.deepStrictEqual(
        updates.map((update) => (update as { update_id: number }).update_id),
        [updateId]
      )
      assert.strictEqual(fake.calls("getUpdates"), 2)
    })
  )

  it.effect("interrupting a held poll (shutdown, a bot stopped) lets go of it at once", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const poll = yield* Effect.forkChild(telegram.getUpdates(token, { offset: 0, timeoutSeconds: 30 }))
      for (let i = 0; i < 100 && fake.heldPolls() === 0; i++) yield* Effect.sleep("10 millis")
      assert.strictEqual(fake.heldPolls(), 1)
      const started = Date.now()
      yield* Fiber.interrupt(poll)
      assert.isBelow(Date.now() - started, 1_000)
      // The socket closed, so the fake stopped holding the poll.
      for (let i = 0; i < 100 && fake.heldPolls() > 0; i++) yield* Effect.sleep("10 millis")
      assert.strictEqual(fake.heldPolls(), 0)
    })
  )

  it.effect("an empty long poll answers [] after its timeout, beyond the request timeout", () =>
    Effect.gen(function* () {
      const { telegram } = yield* setup
      const started = Date.now()
      const updates = yield* telegram.getUpdates(token, { offset: 0, timeoutSeconds: 1 })
      assert.deepStrictEqual(updates, [])
      assert.isAtLeast(Date.now() - started, 950)
    })
  )

  it.effect(
    "untilUpdates: empty answers are polled through with the repeat timeout; the first updates return",
    () =>
      Effect.gen(function* () {
        const { fake, telegram } = yield* setup
        const poll = yield* Effect.forkChild(
          telegram.getUpdates(token, { offset: 0, timeoutSeconds: 1, untilUpdates: { timeoutSeconds: 1 } })
        )
        // Two empty answers (a second each), then an update on the third poll.
        for (let i = 0; i < 400 && fake.calls("getUpdates") < 3; i++) yield* Effect.sleep("10 millis")
        assert.strictEqual(fake.calls("getUpdates"), 3)
        const updateId = fake.pushUpdate(SECRET, { message: { text: "after two empty polls" } })
        const updates = yield* Fiber.join(poll)
        assert.deepStrictEqual(
          updates.map((update) => (update as { update_id: number }).update_id),
          [updateId]
        )
        assert.strictEqual(fake.calls("getUpdates"), 3)
      })
  )

  it.effect("untilUpdates: a token revoked between two polls fails the poll as unauthorized", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const poll = yield* Effect.forkChild(
        Effect.flip(
          telegram.getUpdates(token, { offset: 0, timeoutSeconds: 1, untilUpdates: { timeoutSeconds: 1 } })
        )
      )
      for (let i = 0; i < 200 && fake.calls("getUpdates") < 2; i++) yield* Effect.sleep("10 millis")
      fake.revokeToken(SECRET)
      const error = yield* Fiber.join(poll)
      assert.strictEqual(error.kind, "unauthorized")
      assert.strictEqual(error.status, 401)
      assertNoToken(error)
    })
  )

  it.effect("setWebhook, getWebhookInfo and deleteWebhook", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const url = "https://fleet.example.com/telegram/webhook/bot-1"
      yield* telegram.setWebhook(token, { url, secretToken: "s3cret" })
      assert.deepStrictEqual(fake.webhookOf(SECRET), { url, secretToken: "s3cret" })
      assert.deepStrictEqual(fake.webhooks.at(-1)?.allowedUpdates, [...TelegramGatewayHttp.ALLOWED_UPDATES])

      fake.pushUpdate(SECRET, { message: { text: "pending" } })
      const lastError = new Date("2025-01-02T03:04:05Z")
      fake.setWebhookError(SECRET, "Connection refused", lastError)
      const info = yield* telegram.getWebhookInfo(token)
      assert.deepStrictEqual(info, {
        url,
        pendingUpdateCount: 1,
        lastErrorMessage: "Connection refused",
        lastErrorDate: lastError
      })

      // A webhook blocks long polling, as in the real API.
      const conflict = yield* Effect.flip(telegram.getUpdates(token, { offset: 0, timeoutSeconds: 0 }))
      assert.strictEqual(conflict.status, 409)
      assert.strictEqual(conflict.kind, "bad_request")

      yield* telegram.deleteWebhook(token)
      assert.isNull(fake.webhookOf(SECRET))
      assert.strictEqual(fake.webhooks.at(-1)?.type, "deleted")
      assert.isFalse(fake.webhooks.at(-1)?.dropPendingUpdates)
      assert.strictEqual((yield* telegram.getWebhookInfo(token)).pendingUpdateCount, 1)
    })
  )

  it.effect("answerCallbackQuery reaches the fake with its text", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      yield* telegram.answerCallbackQuery(token, "cbq-1", "Done")
      yield* telegram.answerCallbackQuery(token, "cbq-2")
      assert.deepStrictEqual(
        fake.callbackAnswers.map(({ callbackQueryId, text }) => ({ callbackQueryId, text })),
        [
          { callbackQueryId: "cbq-1", text: "Done" },
          { callbackQueryId: "cbq-2", text: null }
        ]
      )
    })
  )

  it.effect("each call is a Telegram.<method> span; errors carry the status", () =>
    Effect.gen(function* () {
      const { fake, telegram } = yield* setup
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      fake.failNext("sendMessage", FakeTelegram.Fault.apiError(403, "Forbidden: bot was kicked"))
      yield* Effect.flip(telegram.sendMessage(token, { chatId: CHAT, text: "hi" })).pipe(
        Effect.withTracer(tracer)
      )
      const span = spans.find((candidate) => candidate.name === "Telegram.sendMessage")
      assert.isDefined(span)
      assert.strictEqual(span?.attributes.get("telegram.method"), "sendMessage")
      assert.strictEqual(span?.attributes.get("telegram.status"), 403)
      for (const recorded of spans) {
        assert.notInclude(JSON.stringify([...recorded.attributes]), SECRET)
      }
    })
  )
})

layer(TelegramGatewayHttp.layer({ apiRoot: new URL("http://127.0.0.1:1"), requestTimeout: "2 seconds" }), {
  excludeTestServices: true
})("TelegramGatewayHttp without a server", (it) => {
  it.effect("a refused connection is unavailable and the URL's token is scrubbed", () =>
    Effect.gen(function* () {
      const telegram = yield* TelegramGateway
      const error = yield* Effect.flip(telegram.getMe(token))
      assert.strictEqual(error.kind, "unavailable")
      assert.isNull(error.status)
      assertNoToken(error)
    })
  )
})

layer(Layer.empty)("toTelegramError", (it) => {
  it.effect("scrubs tokens that network errors put in the URL", () =>
    Effect.sync(() => {
      const error = TelegramGatewayHttp.toTelegramError(
        "getMe",
        new Error(
          `invalid json response body at http://api.local/bot${SECRET}/getMe reason: Unexpected token <`
        ),
        SECRET
      )
      assert.strictEqual(error.kind, "unavailable")
      assert.include(error.description, "bot<redacted>/getMe")
      assertNoToken(error)
    })
  )

  it.effect("scrubs a token that does not look like one", () =>
    Effect.sync(() => {
      const odd = "not-a-normal-token"
      const error = TelegramGatewayHttp.toTelegramError("getMe", new Error(`failed at /bot${odd}/getMe`), odd)
      assert.notInclude(error.description, odd)
    })
  )
})

import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { BotRepository, BotService, HandleUpdate, SecretBox, TelegramGateway } from "@botfleet/application"
import {
  Bot,
  REFRESH_REPLY,
  SUMMARY_LEAD,
  SUMMARY_PROMPT,
  UNKNOWN_COMMAND_REPLY,
  unsupportedReply
} from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import {
  addBot,
  CHAT_ID,
  callbackUpdate,
  chatOf,
  claimEffects,
  harness,
  incoming,
  messagesOf,
  myChatMemberUpdate,
  photoUpdate,
  processUpdate,
  textUpdate
} from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)

/** About 10,000 characters of prose in paragraphs, as a long model answer looks. */
const longAnswer = Array.from(
  { length: 160 },
  (_, i) => `Sentence ${i} adds one more detail to this long answer.${i % 8 === 7 ? "\n\n" : " "}`
)
  .join("")
  .slice(0, 10_000)
const withoutWhitespace = (text: string) => text.replace(/\s+/g, "")

describe("HandleUpdate.process: text messages", () => {
  it.effect(
    "stores the message and the priced reply, sends it to the chat, shows typing (streaming off)",
    () =>
      Effect.gen(function* () {
        // Streaming bots show drafts instead of typing in private chats (streaming.test.ts).
        const { bot } = yield* addBot({ telegramId: 700_001, streaming: false })
        yield* processUpdate(bot, textUpdate(1, "hello there"))
        const [incoming, reply, ...rest] = yield* messagesOf(bot)
        assert.deepStrictEqual(rest, [])
        assert.strictEqual(incoming?.role, "user")
        assert.strictEqual(incoming?.text, "hello there")
        assert.strictEqual(incoming?.updateId, 1)
        assert.strictEqual(reply?.role, "assistant")
        assert.strictEqual(reply?.replyTo, incoming?.id)
        assert.strictEqual(reply?.text, "echo: hello there")
        assert.strictEqual(reply?.status, "sent")
        assert.strictEqual(reply?.model, "test-model")
        // The memory model counts words: 2 in, 3 out, at 1 and 2 USD per million tokens.
        assert.strictEqual(reply?.inputTokens, 2)
        assert.strictEqual(reply?.outputTokens, 3)
        assert.closeTo(reply?.costUsd ?? 0, 8e-6, 1e-9)
        const log = yield* TelegramMemoryLog
        const sent = yield* log.sentMessages
        assert.deepStrictEqual(
          sent.map(({ botId, chatId, text }) => ({ botId, chatId, text })),
          [{ botId: 700_001, chatId: CHAT_ID, text: "echo: hello there" }]
        )
        assert.deepStrictEqual(reply?.telegramMessageIds, [sent[0]!.messageId])
        assert.deepStrictEqual(yield* log.chatActions, [
          { botId: 700_001, chatId: CHAT_ID, action: "typing" }
        ])
      }).pipe(Effect.provide(harness()))
  )

  it.effect("does nothing more when the same update is processed again", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const before = yield* messagesOf(bot)
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.deepStrictEqual(yield* messagesOf(bot), before)
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
      assert.strictEqual((yield* llmRequests).length, 1)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("the model sees the system prompt first, then at most historyLimit messages", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ systemPrompt: "You are terse.", historyLimit: 3 })
      yield* processUpdate(bot, textUpdate(1, "one"))
      yield* processUpdate(bot, textUpdate(2, "two"))
      yield* processUpdate(bot, textUpdate(3, "three"))
      const requests = yield* llmRequests
      assert.deepStrictEqual(requests[0]?.messages, [
        { role: "system", content: "You are terse." },
        { role: "user", content: "one" }
      ])
      // Past historyLimit the turns that drop out are folded into a summary first (one more request).
      assert.strictEqual(requests.length, 4)
      assert.deepStrictEqual(requests[2]?.messages, [
        { role: "system", content: SUMMARY_PROMPT },
        { role: "user", content: "Conversation:\nAda: one\nAssistant: echo: one\nAda: two" }
      ])
      // The answer reads the summary, then the newest messages after it: never more than historyLimit.
      assert.deepStrictEqual(requests[3]?.messages, [
        { role: "system", content: "You are terse." },
        {
          role: "system",
          content: `${SUMMARY_LEAD}echo: Conversation:\nAda: one\nAssistant: echo: one\nAda: two`
        },
        { role: "assistant", content: "echo: two" },
        { role: "user", content: "three" }
      ])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a 10,000-character reply arrives as several messages of at most 4096 characters", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* LanguageModelMemoryControl.use((control) => control.setReply(() => longAnswer))
      yield* processUpdate(bot, textUpdate(1, "tell me everything"))
      const texts = yield* sentTexts
      assert.isAbove(texts.length, 2)
      for (const text of texts) assert.isAtMost(text.length, 4096)
      assert.strictEqual(withoutWhitespace(texts.join("")), withoutWhitespace(longAnswer))
      const reply = (yield* messagesOf(bot))[1]
      assert.strictEqual(reply?.chunksSent, texts.length)
      assert.strictEqual(reply?.telegramMessageIds.length, texts.length)
      assert.strictEqual(reply?.status, "sent")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("resends a reply Telegram cannot parse as Markdown once, as plain text", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const log = yield* TelegramMemoryLog
      yield* log.failNext("sendMessage", TelegramErrors.entityParse())
      yield* processUpdate(bot, textUpdate(1, "a *broken bold"))
      const sent = yield* log.sentMessages
      assert.deepStrictEqual(
        sent.map(({ text, parseMode }) => ({ text, parseMode })),
        [{ text: "echo: a *broken bold", parseMode: null }]
      )
      assert.strictEqual((yield* messagesOf(bot))[1]?.status, "sent")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a retryable failure on the 2nd chunk is RetryLater; the rerun sends only the rest", () => {
    let sends = 0
    const failSecondSend = (telegram: TelegramGateway["Service"]) =>
      TelegramGateway.of({
        ...telegram,
        sendMessage: (token, input) =>
          Effect.suspend(() =>
            ++sends === 2
              ? Effect.fail(TelegramErrors.unavailable("sendMessage"))
              : telegram.sendMessage(token, input)
          )
      })
    return Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* LanguageModelMemoryControl.use((control) => control.setReply(() => longAnswer))
      const error = yield* Effect.flip(processUpdate(bot, textUpdate(1, "tell me everything")))
      assert.strictEqual(error._tag, "RetryLater")
      const first = yield* sentTexts
      assert.strictEqual(first.length, 1)
      const pending = (yield* messagesOf(bot))[1]
      assert.strictEqual(pending?.chunksSent, 1)
      assert.strictEqual(pending?.status, "pending")

      yield* processUpdate(bot, textUpdate(1, "tell me everything"))
      const all = yield* sentTexts
      assert.isAbove(all.length, 2)
      assert.strictEqual(all.filter((text) => text === first[0]).length, 1)
      assert.strictEqual(withoutWhitespace(all.join("")), withoutWhitespace(longAnswer))
      assert.strictEqual((yield* messagesOf(bot))[1]?.status, "sent")
      assert.strictEqual((yield* llmRequests).length, 1)
    }).pipe(Effect.provide(harness({ telegram: failSecondSend })))
  })

  // BUG: in HandleUpdate.ts a reply is stamped with the same Clock read as its
  // message can get; history and listByChat then order the two by their random
  // UUIDs. Command replies (no model call in between) hit this often. 16 chats
  // here: all in order by chance has odds of 1 in 65,536.
  it.effect("a command's reply comes after the command in the history, even in the same millisecond", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      for (let chat = 1; chat <= 16; chat++) {
        yield* processUpdate(bot, textUpdate(chat * 2, "/start", chat))
        yield* processUpdate(bot, textUpdate(chat * 2 + 1, "hello", chat))
      }
      for (const request of yield* llmRequests) {
        assert.deepStrictEqual(
          request.messages.map((turn) => turn.content),
          ["/start", bot.startMessage, "hello"]
        )
      }
    }).pipe(Effect.provide(harness()))
  )
})

describe("HandleUpdate.process: commands and other content", () => {
  it.effect("/start and /help answer with the bot's texts, without the model", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ startMessage: "Welcome aboard!", helpMessage: "Ask me about trains." })
      yield* processUpdate(bot, textUpdate(1, "/start"))
      yield* processUpdate(bot, textUpdate(2, `/help@${bot.username}`))
      assert.deepStrictEqual(yield* sentTexts, ["Welcome aboard!", "Ask me about trains."])
      assert.deepStrictEqual(yield* llmRequests, [])
      const replies = (yield* messagesOf(bot)).filter((message) => message.role === "assistant")
      assert.deepStrictEqual(
        replies.map((reply) => [reply.status, reply.model]),
        [
          ["sent", null],
          ["sent", null]
        ]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("/refresh starts a new thread: the model then sees none of the earlier messages", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, textUpdate(1, "my name is Ada"))
      yield* processUpdate(bot, textUpdate(2, "/refresh"))
      yield* processUpdate(bot, textUpdate(3, "what is my name?"))
      assert.deepStrictEqual(yield* sentTexts, [
        "echo: my name is Ada",
        REFRESH_REPLY,
        "echo: what is my name?"
      ])
      const requests = yield* llmRequests
      assert.strictEqual(requests.length, 2)
      assert.deepStrictEqual(requests[1]?.messages, [{ role: "user", content: "what is my name?" }])
      const chat = yield* chatOf(bot)
      assert.strictEqual(Option.getOrUndefined(chat)?.thread, 2)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("an unknown command gets the unknown-command reply and the help text", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, textUpdate(1, "/frobnicate now"))
      assert.deepStrictEqual(yield* sentTexts, [`${UNKNOWN_COMMAND_REPLY} ${bot.helpMessage}`])
      assert.deepStrictEqual(yield* llmRequests, [])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a photo without a caption gets the can-only-read-text reply (vision off)", () =>
    Effect.gen(function* () {
      // With vision on (the default) the photo goes to the model: photos.test.ts.
      const { bot } = yield* addBot({ vision: false })
      yield* processUpdate(bot, photoUpdate(1))
      assert.deepStrictEqual(yield* sentTexts, [unsupportedReply("photo")])
      assert.deepStrictEqual(yield* llmRequests, [])
      const incoming = (yield* messagesOf(bot)).find((message) => message.role === "user")
      assert.strictEqual(incoming?.text, "[photo]")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a callback query is answered; data 'help' sends the help text, other data nothing", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, callbackUpdate(1, "help"))
      yield* processUpdate(bot, callbackUpdate(2, "buy:42"))
      const log = yield* TelegramMemoryLog
      assert.deepStrictEqual(
        (yield* log.callbackAnswers).map((answer) => answer.callbackQueryId),
        ["callback-1", "callback-2"]
      )
      assert.deepStrictEqual(yield* sentTexts, [bot.helpMessage])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("my_chat_member: kicked sets the chat's error, member again clears it", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, myChatMemberUpdate(1, "kicked"))
      const kicked = yield* chatOf(bot)
      assert.strictEqual(Option.getOrUndefined(kicked)?.lastError, "the bot was blocked or removed")
      yield* processUpdate(bot, myChatMemberUpdate(2, "member"))
      assert.isNull(Option.getOrUndefined(yield* chatOf(bot))?.lastError)
      assert.deepStrictEqual(yield* sentTexts, [])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("an update kind it does not handle changes nothing", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const log = yield* TelegramMemoryLog
      const callsBefore = (yield* log.calls).length
      yield* processUpdate(bot, { update_id: 1, edited_message: textUpdate(1, "edited").message })
      yield* processUpdate(bot, { update_id: 2, poll: { id: "p", question: "?", options: [] } })
      // A message without a chat is not what Telegram sends: refused as invalid, not retried.
      const invalid = yield* Effect.flip(processUpdate(bot, { update_id: 3, message: { text: "no chat" } }))
      assert.strictEqual(invalid._tag, "InvalidUpdate")
      assert.deepStrictEqual((yield* log.calls).slice(callsBefore), [])
      assert.deepStrictEqual(yield* llmRequests, [])
      assert.isTrue(Option.isNone(yield* chatOf(bot)))
    }).pipe(Effect.provide(harness()))
  )
})

describe("HandleUpdate.process: failures", () => {
  it.effect("a retryable model failure is RetryLater with nothing sent; the rerun answers", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* LanguageModelMemoryControl.use((control) => control.failNext("timeout"))
      const error = yield* Effect.flip(processUpdate(bot, textUpdate(1, "hello")))
      assert.strictEqual(error._tag, "RetryLater")
      assert.deepStrictEqual(yield* sentTexts, [])
      assert.deepStrictEqual(
        (yield* messagesOf(bot)).map((message) => message.role),
        ["user"]
      )
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
      assert.deepStrictEqual((yield* llmRequests)[1]?.messages, [{ role: "user", content: "hello" }])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a model failure retrying cannot fix: the error message once, reply failed, admins told", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ errorMessage: "Oops, try again later." })
      yield* LanguageModelMemoryControl.use((control) => control.failNext("auth"))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.deepStrictEqual(yield* sentTexts, ["Oops, try again later."])
      const reply = (yield* messagesOf(bot))[1]
      assert.strictEqual(reply?.status, "failed")
      assert.include(reply?.error ?? "", "auth")
      const chat = Option.getOrThrow(yield* chatOf(bot))
      const notices = (yield* claimEffects).filter((effect) => effect._tag === "NotifyAdmins")
      assert.deepStrictEqual(
        notices.map((notice) => [notice.botId, notice.chatId]),
        [[bot.id, chat.id]]
      )
      assert.strictEqual((yield* llmRequests).length, 1)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("Telegram refusing the token on send: BotUnavailable, the bot stops with the error", () =>
    Effect.gen(function* () {
      const { bot, token } = yield* addBot()
      yield* TelegramMemoryLog.use((log) => log.revokeBot(token))
      const error = yield* Effect.flip(processUpdate(bot, textUpdate(1, "hello")))
      assert.strictEqual(error._tag, "BotUnavailable")
      const stopped = yield* BotService.use((service) => service.get(bot.id))
      assert.isFalse(stopped.active)
      assert.include(stopped.lastError ?? "", "Unauthorized")
      assert.deepStrictEqual(
        (yield* claimEffects).map((effect) => effect._tag),
        ["NotifyAdmins"]
      )
      const again = yield* Effect.flip(processUpdate(bot, textUpdate(2, "anyone?")))
      assert.strictEqual(again._tag, "BotUnavailable")
      assert.strictEqual((yield* llmRequests).length, 1)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a user who blocked the bot: the reply fails, the chat keeps the error, no error raised", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* TelegramMemoryLog.use((log) => log.failNext("sendMessage", TelegramErrors.blocked()))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const reply = (yield* messagesOf(bot))[1]
      assert.strictEqual(reply?.status, "failed")
      assert.include(reply?.error ?? "", "blocked")
      assert.include(Option.getOrUndefined(yield* chatOf(bot))?.lastError ?? "", "blocked")
      assert.isTrue((yield* BotService.use((service) => service.get(bot.id))).active)
      assert.deepStrictEqual(yield* sentTexts, [])
    }).pipe(Effect.provide(harness()))
  )

  // BUG: HandleUpdate.ts writes the chat loaded before the message was saved back
  // with lastError (ensureResponseSent, the "forbidden" branch): lastMessageAt,
  // set in step 1, goes back to its old value (null for a new chat).
  it.effect("a blocked send keeps the chat's last message time", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* TelegramMemoryLog.use((log) => log.failNext("sendMessage", TelegramErrors.blocked()))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const incoming = (yield* messagesOf(bot))[0]
      assert.deepStrictEqual(Option.getOrUndefined(yield* chatOf(bot))?.lastMessageAt, incoming?.createdAt)
    }).pipe(Effect.provide(harness()))
  )

  // BUG: the same stale write also undoes /refresh when its reply cannot be delivered.
  it.effect("a /refresh whose reply is blocked still starts a new thread", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, textUpdate(1, "my name is Ada"))
      yield* TelegramMemoryLog.use((log) => log.failNext("sendMessage", TelegramErrors.blocked()))
      yield* processUpdate(bot, textUpdate(2, "/refresh"))
      assert.strictEqual(Option.getOrUndefined(yield* chatOf(bot))?.thread, 2)
    }).pipe(Effect.provide(harness()))
  )
})

it.effect("HandleUpdate.process: a disabled or deleted bot is BotUnavailable", () =>
  Effect.gen(function* () {
    const { bot } = yield* addBot()
    const service = yield* BotService
    yield* service.disable(bot.id)
    const disabled = yield* Effect.flip(
      HandleUpdate.use((h) => h.process(bot.id, incoming(textUpdate(1, "hi"))))
    )
    assert.deepStrictEqual(
      [disabled._tag, "reason" in disabled && disabled.reason],
      ["BotUnavailable", "bot is disabled"]
    )
    yield* service.remove(bot.id)
    const deleted = yield* Effect.flip(
      HandleUpdate.use((h) => h.process(bot.id, incoming(textUpdate(2, "hi"))))
    )
    assert.deepStrictEqual(
      [deleted._tag, "reason" in deleted && deleted.reason],
      ["BotUnavailable", "bot was deleted"]
    )
    assert.deepStrictEqual(yield* sentTexts, [])
  }).pipe(Effect.provide(harness()))
)

describe("HandleUpdate.process: a token replaced while an update runs", () => {
  // The send meets a 401 because an admin just rotated the token: the bot must not be
  // stopped for a token it no longer has; the update simply runs again with the new one.
  let sends = 0
  let rotate: Effect.Effect<void> = Effect.void
  const rotateThenRefuse = (telegram: TelegramGateway["Service"]) =>
    TelegramGateway.of({
      ...telegram,
      sendMessage: (token, input) =>
        Effect.suspend(() =>
          ++sends === 1
            ? Effect.andThen(rotate, Effect.fail(TelegramErrors.unauthorized("sendMessage")))
            : telegram.sendMessage(token, input)
        )
    })

  it.effect("a 401 after the token was replaced retries instead of stopping the bot", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const context = yield* Effect.context<
        BotRepository | SecretBox | TelegramGatewayMemory.TelegramMemoryLog
      >()
      const newToken = Redacted.make(`700001:${"AAH-rotated_".padEnd(35, "y")}`)
      rotate = Effect.gen(function* () {
        const log = yield* TelegramMemoryLog
        yield* log.registerBot(newToken, { id: 700_001, username: "helper_bot", firstName: "helper_bot" })
        const repository = yield* BotRepository
        const current = yield* repository.findById(bot.id)
        const ciphertext = yield* (yield* SecretBox).encrypt(newToken)
        yield* repository.update(new Bot({ ...current, tokenCiphertext: ciphertext }))
      }).pipe(Effect.provide(context), Effect.orDie)

      const error = yield* Effect.flip(processUpdate(bot, textUpdate(1, "hello")))
      assert.strictEqual(error._tag, "RetryLater")
      const stored = yield* BotService.use((service) => service.get(bot.id))
      assert.isTrue(stored.active, "the bot keeps running")
      assert.isNull(stored.lastError)

      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
    }).pipe(Effect.provide(harness({ telegram: rotateThenRefuse })))
  )
})

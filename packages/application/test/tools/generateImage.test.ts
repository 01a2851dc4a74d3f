/**
 * generate_image through the toolkit, as the turn loop calls it: the real
 * OpenAI-compatible adapter against FakeOpenAI over HTTP (through the guarded
 * outbound client), the photo to the Telegram twin replying to the message
 * being answered, the price counted in the sender's and the bot's use. A
 * provider's error is told to the model with our words, and nothing is sent
 * or counted.
 */
import {
  ImageGeneratorOpenAI,
  OutboundClient,
  OutboundHttpNode,
  PageTextReadability,
  TelegramGatewayMemory
} from "@botfleet/adapters"
import { BuiltinToolkit, BuiltinToolkitLive, ToolTurn, UsageLedger } from "@botfleet/application"
import { FakeOpenAI } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer, Option, Redacted, Stream } from "effect"
import { addBot, CHAT_ID, chatOf, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

const ENV_KEY = "sk-env-images"

/** The toolkit on the harness, with images drawn by `fake` (the env default server, no provider). */
const liveFor = (fake: FakeOpenAI.FakeOpenAI) => {
  const outbound = OutboundHttpNode.layer(OutboundClient.make({ privateNetworks: "allow" }))
  const images = ImageGeneratorOpenAI.layer({
    apiKey: Redacted.make(ENV_KEY),
    baseUrl: fake.baseUrl.href
  }).pipe(Layer.provide(outbound))
  return BuiltinToolkitLive.pipe(
    Layer.provideMerge(Layer.mergeAll(outbound, images, PageTextReadability.layer)),
    // The pipeline's own toolkit draws with the same server.
    Layer.provideMerge(harness({ images }))
  )
}

const withImages = <A, E>(
  body: (fake: FakeOpenAI.FakeOpenAI) => Effect.Effect<A, E, Layer.Success<ReturnType<typeof liveFor>>>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fake = yield* FakeOpenAI.make({ apiKey: ENV_KEY })
      return yield* body(fake).pipe(Effect.provide(liveFor(fake)))
    })
  )

const firstTurn = Effect.gen(function* () {
  const { bot, token } = yield* addBot()
  yield* processUpdate(bot, textUpdate(7, "draw me a cat"))
  const chat = Option.getOrThrow(yield* chatOf(bot))
  const incoming = (yield* messagesOf(bot)).find((message) => message.role === "user")!
  return { bot, token, chat, incoming }
})

const draw = (turn: Effect.Success<typeof firstTurn>, params: Record<string, string>) =>
  Effect.gen(function* () {
    const toolkit = yield* BuiltinToolkit
    const results = yield* toolkit
      .handle("generate_image", params as never)
      .pipe(Effect.flatMap(Stream.runCollect))
    const last = results[results.length - 1]!
    return { isFailure: last.isFailure, result: last.result as Record<string, unknown> }
  }).pipe(Effect.provideService(ToolTurn, ToolTurn.of({ ...turn, spend: () => Effect.void })))

const spentNow = (turn: Effect.Success<typeof firstTurn>) =>
  Effect.gen(function* () {
    const at = new Date(yield* Clock.currentTimeMillis)
    return yield* UsageLedger.use((ledger) => ledger.usage(turn.bot.id, CHAT_ID, at))
  })

const photosSent = TelegramGatewayMemory.TelegramMemoryLog.use((log) => log.sentPhotos)

describe("generate_image", () => {
  it.effect("draws with the bot's image model, sends the photo as a reply, counts its price", () =>
    withImages((fake) =>
      Effect.gen(function* () {
        const turn = yield* firstTurn
        const before = yield* spentNow(turn)
        const drawn = yield* draw(turn, { prompt: "a cat in a hat", size: "1536x1024" })
        assert.deepStrictEqual(drawn, { isFailure: false, result: { sent: true, costUsd: 0.063 } })

        const [asked] = yield* fake.imageRequests
        assert.deepStrictEqual(asked, {
          model: "gpt-image-1",
          prompt: "a cat in a hat",
          size: "1536x1024",
          quality: "medium",
          apiKey: ENV_KEY
        })
        const photos = yield* photosSent
        assert.strictEqual(photos.length, 1)
        assert.deepStrictEqual([...photos[0]!.bytes], [...FakeOpenAI.FAKE_IMAGE])
        assert.strictEqual(photos[0]!.fileName, "image.png")
        assert.strictEqual(photos[0]!.chatId, CHAT_ID)
        assert.strictEqual(photos[0]!.replyToMessageId, 7)

        const after = yield* spentNow(turn)
        assert.closeTo(after.userUsdThisMonth - before.userUsdThisMonth, 0.063, 1e-9)
        assert.closeTo(after.botUsdThisMonth - before.botUsdThisMonth, 0.063, 1e-9)
        // A tool's spend is no message of its own.
        assert.strictEqual(after.userMessagesToday, before.userMessagesToday)
      })
    )
  )

  it.effect("an image answered as a url is fetched through the guarded client", () =>
    withImages((fake) =>
      Effect.gen(function* () {
        yield* fake.setImageAnswer("url")
        const turn = yield* firstTurn
        const drawn = yield* draw(turn, { prompt: "a dog" })
        assert.deepStrictEqual(drawn, { isFailure: false, result: { sent: true, costUsd: 0.042 } })
        assert.strictEqual((yield* fake.imageRequests)[0]!.size, "1024x1024")
        assert.deepStrictEqual([...(yield* photosSent)[0]!.bytes], [...FakeOpenAI.FAKE_IMAGE])
      })
    )
  )

  it.effect("a provider error reaches the model as a reason in our words; nothing sent or counted", () =>
    withImages((fake) =>
      Effect.gen(function* () {
        const turn = yield* firstTurn
        const before = yield* spentNow(turn)
        yield* fake.failNext({
          status: 400,
          body: {
            error: {
              message: "Your prompt was rejected by <b>our</b> filter",
              code: "content_policy_violation"
            }
          }
        })
        const refused = yield* draw(turn, { prompt: "something refused" })
        assert.isTrue(refused.isFailure)
        assert.strictEqual(
          refused.result.reason,
          "no image: the image server answered HTTP 400 (content_policy_violation)"
        )
        assert.notInclude(String(refused.result.reason), "filter")
        yield* fake.failNext({ status: 500 })
        const down = yield* draw(turn, { prompt: "again" })
        assert.include(String(down.result.reason), "HTTP 500")
        assert.deepStrictEqual(yield* photosSent, [])
        assert.deepStrictEqual(yield* spentNow(turn), before)
      })
    )
  )

  it.effect("Telegram refusing the photo is told to the model; the image was still paid for", () =>
    withImages(() =>
      Effect.gen(function* () {
        const turn = yield* firstTurn
        const before = yield* spentNow(turn)
        yield* TelegramGatewayMemory.TelegramMemoryLog.use((log) =>
          log.failNext("sendPhoto", TelegramGatewayMemory.TelegramErrors.blocked("sendPhoto"))
        )
        const refused = yield* draw(turn, { prompt: "a cat" })
        assert.isTrue(refused.isFailure)
        assert.include(String(refused.result.reason), "could not be sent")
        assert.closeTo((yield* spentNow(turn)).userUsdThisMonth - before.userUsdThisMonth, 0.042, 1e-9)
      })
    )
  )
})

/**
 * Photos (conversations): the largest size that fits goes to the
 * model as an image for this one request; the history keeps a placeholder
 * with the caption, never the bytes.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { PHOTO_MAX_BYTES, PHOTO_TOO_LARGE_REPLY, PHOTO_UNREADABLE_REPLY } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, CHAT_ID, harness, messagesOf, processUpdate, textUpdate, USER } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

const photoWith = (
  updateId: number,
  sizes: ReadonlyArray<{ file_id: string; file_size?: number }>,
  caption?: string
) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_700_000_000,
    chat: { id: CHAT_ID, type: "private", first_name: "Ada" },
    from: USER,
    photo: sizes.map((size, i) => ({
      file_unique_id: `u${i}`,
      width: 90 * (i + 1),
      height: 90 * (i + 1),
      ...size
    })),
    ...(caption === undefined ? {} : { caption })
  }
})

const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0])

describe("photos", () => {
  it.effect("a photo with 'what is this?' reaches the model as an image; history keeps a placeholder", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* TelegramMemoryLog.use((log) => log.addFile("big", JPEG, "photos/file_1.jpg"))
      yield* processUpdate(
        bot,
        photoWith(
          1,
          [
            { file_id: "small", file_size: 1_000 },
            { file_id: "big", file_size: 50_000 }
          ],
          "what is this?"
        )
      )
      const [first] = yield* llmRequests
      assert.deepStrictEqual(first?.messages.at(-1), {
        role: "user",
        content: "what is this?",
        images: [`data:image/jpeg;base64,${Buffer.from(JPEG).toString("base64")}`]
      })
      assert.deepStrictEqual(yield* sentTexts, ["echo: what is this?"])
      const [incoming] = yield* messagesOf(bot)
      assert.strictEqual(incoming?.kind, "photo")
      assert.strictEqual(
        incoming?.text,
        "[photo] what is this?",
        "a placeholder and the caption, never the bytes"
      )

      // The next question sees the photo as a placeholder only.
      yield* processUpdate(bot, textUpdate(2, "and the colour?"))
      const second = (yield* llmRequests)[1]
      assert.deepStrictEqual(
        second?.messages.map((turn) => [turn.content, turn.images ?? null]),
        [
          ["[photo] what is this?", null],
          ["echo: what is this?", null],
          ["and the colour?", null]
        ]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("the largest size that fits is chosen; over the limit, a clear reply and no download", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* TelegramMemoryLog.use((log) => log.addFile("medium", JPEG, "photos/m.jpg"))
      yield* processUpdate(
        bot,
        photoWith(1, [
          { file_id: "small", file_size: 1_000 },
          { file_id: "medium", file_size: 60_000 },
          { file_id: "huge", file_size: PHOTO_MAX_BYTES + 1 }
        ])
      )
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.deepStrictEqual((yield* llmRequests)[0]?.messages.at(-1)?.content, "")
      yield* processUpdate(bot, photoWith(2, [{ file_id: "only-huge", file_size: PHOTO_MAX_BYTES + 1 }]))
      assert.deepStrictEqual((yield* sentTexts).at(-1), PHOTO_TOO_LARGE_REPLY)
      assert.strictEqual((yield* llmRequests).length, 1)
      assert.strictEqual((yield* messagesOf(bot)).filter((m) => m.kind === "photo").length, 2)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a photo Telegram cannot give back: a clear reply, no model call, the message kept", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* processUpdate(bot, photoWith(1, [{ file_id: "missing", file_size: 100 }], "look"))
      assert.deepStrictEqual(yield* sentTexts, [PHOTO_UNREADABLE_REPLY])
      assert.deepStrictEqual(yield* llmRequests, [])
      assert.strictEqual((yield* messagesOf(bot))[0]?.text, "[photo] look")
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "vision off: a captioned photo is answered from its caption, the model told a photo was there",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ vision: false, streaming: false })
        yield* processUpdate(bot, photoWith(1, [{ file_id: "p", file_size: 100 }], "nice, right?"))
        assert.deepStrictEqual(yield* sentTexts, ["echo: [photo] nice, right?"])
        assert.isUndefined((yield* llmRequests)[0]?.messages.at(-1)?.images)
      }).pipe(Effect.provide(harness()))
  )
})

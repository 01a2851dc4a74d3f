/**
 * Voice answers: which model answers are spoken (off, when_spoken_to with a
 * voice or a text message, always), how a spoken answer goes out (a voice
 * note, captioned or followed by the text), that it goes out once with its
 * speech paid once, and that an answer always reaches the user as text when
 * speech cannot be made or Telegram refuses the voice note.
 */
import {
  LanguageModelMemory,
  SpeechPrices,
  SpeechSynthesizerMemory,
  TelegramGatewayMemory
} from "@botfleet/adapters"
import { TelegramError } from "@botfleet/application"
import { CAPTION_LIMIT, type VoiceReplies } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, CHAT_ID, harness, messagesOf, processUpdate, textUpdate, USER } from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory
const { SpeechSynthesizerMemoryControl } = SpeechSynthesizerMemory

const voiceUpdate = (updateId: number, fileId: string) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_700_000_000,
    chat: { id: CHAT_ID, type: "private", first_name: "Ada" },
    from: USER,
    voice: { file_id: fileId, file_unique_id: `u-${fileId}`, duration: 3, file_size: 20 }
  }
})

/** The memory transcriber hears a file's bytes as UTF-8 text. */
const addRecording = (fileId: string, says: string) =>
  TelegramMemoryLog.use((log) => log.addFile(fileId, new TextEncoder().encode(says)))
const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)
const sentVoices = TelegramMemoryLog.use((log) => log.sentVoices)
const speechRequests = SpeechSynthesizerMemoryControl.use((control) => control.requests)
const replyWith = (text: string) => LanguageModelMemoryControl.use((control) => control.setReply(() => text))

const botWith = (voiceReplies: VoiceReplies, streaming = false) =>
  addBot({ streaming, voiceReplies, speechModel: "tts-1", speechVoice: "nova" })

const decoded = (audio: Uint8Array) => new TextDecoder().decode(audio)

describe("which answers are spoken", () => {
  it.effect("off (the default): a voice message is answered in text", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      assert.strictEqual(bot.voiceReplies, "off")
      yield* addRecording("v1", "hello there")
      yield* processUpdate(bot, voiceUpdate(1, "v1"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello there"])
      assert.lengthOf(yield* sentVoices, 0)
      assert.lengthOf(yield* speechRequests, 0)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("when_spoken_to: a voice message gets a voice note with the answer as its caption", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("when_spoken_to")
      yield* addRecording("v1", "hello there")
      yield* processUpdate(bot, voiceUpdate(1, "v1"))
      const [voice] = yield* sentVoices
      assert.strictEqual(voice?.as, "voice")
      assert.strictEqual(voice?.fileName, "answer.ogg")
      assert.strictEqual(decoded(voice!.audio), "OggSecho: hello there")
      assert.strictEqual(voice?.caption, "echo: hello there")
      assert.strictEqual(voice?.parseMode, "Markdown")
      assert.deepStrictEqual(yield* sentTexts, [])
      const [request] = yield* speechRequests
      assert.deepStrictEqual(
        { model: request?.model, voice: request?.voice, input: request?.input },
        { model: "tts-1", voice: "nova", input: "echo: hello there" }
      )
      const [, reply] = yield* messagesOf(bot)
      assert.strictEqual(reply?.kind, "voice")
      assert.strictEqual(reply?.status, "sent")
      assert.deepStrictEqual(reply?.telegramMessageIds, [voice!.messageId])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("when_spoken_to: a text message is answered in text", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("when_spoken_to")
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
      assert.lengthOf(yield* sentVoices, 0)
      assert.lengthOf(yield* speechRequests, 0)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("always: a text message gets a voice note too; commands stay text", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      yield* processUpdate(bot, textUpdate(1, "hello"))
      yield* processUpdate(bot, textUpdate(2, "/help"))
      const voices = yield* sentVoices
      assert.deepStrictEqual(
        voices.map((voice) => voice.caption),
        ["echo: hello"]
      )
      assert.deepStrictEqual(yield* sentTexts, [bot.helpMessage])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("the spoken words leave out the Markdown marks; the caption keeps them", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      yield* replyWith("**Paris** is the [capital](https://example.com) of `France`.")
      yield* processUpdate(bot, textUpdate(1, "capital?"))
      const [request] = yield* speechRequests
      assert.strictEqual(request?.input, "Paris is the capital of France.")
      const [voice] = yield* sentVoices
      assert.strictEqual(voice?.caption, "**Paris** is the [capital](https://example.com) of `France`.")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("an answer due by voice is not streamed as a draft; 'recording a voice message' is shown", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always", true)
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const log = yield* TelegramMemoryLog
      assert.lengthOf(yield* log.drafts, 0)
      const actions = (yield* log.chatActions).map((action) => action.action)
      assert.include(actions, "record_voice")
      assert.lengthOf(yield* sentVoices, 1)
    }).pipe(Effect.provide(harness()))
  )
})

describe("caption or follow-up", () => {
  it.effect("an answer longer than a caption: the voice note, then the whole text", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      const long = `${"word ".repeat(300)}end.`
      assert.isAbove(long.length, CAPTION_LIMIT)
      yield* replyWith(long)
      yield* processUpdate(bot, textUpdate(1, "tell me a lot"))
      const [voice] = yield* sentVoices
      assert.strictEqual(voice?.caption, null)
      assert.deepStrictEqual(yield* sentTexts, [long])
      const [, reply] = yield* messagesOf(bot)
      assert.strictEqual(reply?.chunksSent, 2)
      assert.strictEqual(reply?.status, "sent")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("an answer longer than the speech endpoint takes is sent as text only", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      yield* replyWith("a".repeat(4_097))
      yield* processUpdate(bot, textUpdate(1, "tell me everything"))
      assert.lengthOf(yield* sentVoices, 0)
      assert.lengthOf(yield* speechRequests, 0)
      assert.lengthOf(yield* sentTexts, 2)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a server that cannot make Ogg Opus: the answer goes as an audio file", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      yield* SpeechSynthesizerMemoryControl.use((control) => control.answerOtherFormat(true))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const [voice] = yield* sentVoices
      assert.strictEqual(voice?.as, "audio")
      assert.strictEqual(voice?.fileName, "answer.mp3")
      assert.strictEqual(voice?.caption, "echo: hello")
    }).pipe(Effect.provide(harness()))
  )
})

describe("never no reply", () => {
  it.effect("speech that cannot be made: the answer is sent as text", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      yield* SpeechSynthesizerMemoryControl.use((control) => control.failNext("auth"))
      yield* processUpdate(bot, textUpdate(1, "hello"))
      assert.lengthOf(yield* sentVoices, 0)
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
      const [, reply] = yield* messagesOf(bot)
      assert.strictEqual(reply?.kind, "text")
      assert.strictEqual(reply?.status, "sent")
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "Telegram refuses the voice note (the user forbids voice messages): the answer is sent as text",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* botWith("always")
        yield* TelegramMemoryLog.use((log) =>
          log.failNext("sendVoice", TelegramErrors.badRequest("sendVoice", "VOICE_MESSAGES_FORBIDDEN"))
        )
        yield* processUpdate(bot, textUpdate(1, "hello"))
        assert.lengthOf(yield* sentVoices, 0)
        assert.deepStrictEqual(yield* sentTexts, ["echo: hello"])
        const [, reply] = yield* messagesOf(bot)
        assert.strictEqual(reply?.status, "sent")
        // The speech was made and paid for, though not sent.
        assert.isAbove(reply?.costUsd ?? 0, 0)
      }).pipe(Effect.provide(harness()))
  )
})

describe("exactly once", () => {
  const unavailable = new TelegramError({
    method: "sendMessage",
    kind: "unavailable",
    status: 502,
    description: "Bad Gateway",
    retryAfterSeconds: null
  })

  it.effect("a rerun after the voice note went out sends only the rest, and pays for speech once", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      const long = `${"word ".repeat(300)}end.`
      yield* replyWith(long)
      // The follow-up text fails after the voice note went out: the update runs again.
      yield* TelegramMemoryLog.use((log) => log.failNext("sendMessage", unavailable))
      const first = yield* Effect.flip(processUpdate(bot, textUpdate(1, "tell me a lot")))
      assert.strictEqual(first._tag, "RetryLater")
      const [, halfway] = yield* messagesOf(bot)
      assert.strictEqual(halfway?.chunksSent, 1)
      const paid = halfway?.costUsd ?? 0
      yield* processUpdate(bot, textUpdate(1, "tell me a lot"))
      assert.lengthOf(yield* sentVoices, 1)
      assert.lengthOf(yield* speechRequests, 1)
      assert.deepStrictEqual(yield* sentTexts, [long])
      const [, reply] = yield* messagesOf(bot)
      assert.strictEqual(reply?.status, "sent")
      assert.strictEqual(reply?.costUsd, paid)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("the speech's cost is added to the reply's, priced per character of the model", () =>
    Effect.gen(function* () {
      const { bot } = yield* botWith("always")
      yield* processUpdate(bot, textUpdate(1, "hello"))
      const [, reply] = yield* messagesOf(bot)
      const model = yield* LanguageModelMemoryControl.use((control) => control.requests)
      assert.lengthOf(model, 1)
      const speech = SpeechPrices.speechCost("tts-1", "echo: hello".length)
      // tts-1: 15 USD per million characters.
      assert.closeTo(speech, (15 * 11) / 1_000_000, 1e-12)
      // The memory model's "test-model" has no price: the reply's cost is the speech's.
      assert.closeTo(reply?.costUsd ?? 0, speech, 1e-12)
    }).pipe(Effect.provide(harness()))
  )
})

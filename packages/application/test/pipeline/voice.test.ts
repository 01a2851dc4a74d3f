/**
 * Voice messages, audio files and video notes (conversations): the
 * recording is downloaded, transcribed once, stored as the message's text
 * with its kind, length and cost, and answered like text. Every way it can go
 * wrong ends in a clear reply, with the message kept.
 */
import { LanguageModelMemory, TelegramGatewayMemory, TranscriberMemory } from "@botfleet/adapters"
import {
  emptyTranscriptReply,
  MEDIA_MAX_BYTES,
  tooLargeReply,
  tooLongReply,
  unreadableReply,
  unsupportedReply
} from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import {
  addBot,
  CHAT_ID,
  drain,
  harness,
  messagesOf,
  processUpdate,
  receive,
  testPolicy,
  USER
} from "../harness.ts"

const { TelegramErrors, TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory
const { TranscriberMemoryControl } = TranscriberMemory

const voiceUpdate = (
  updateId: number,
  voice: { file_id: string; duration: number; file_size?: number },
  kind: "voice" | "audio" | "video_note" = "voice"
) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_700_000_000,
    chat: { id: CHAT_ID, type: "private", first_name: "Ada" },
    from: USER,
    [kind]: { file_unique_id: `u-${voice.file_id}`, ...voice }
  }
})

/** The memory transcriber hears a file's bytes as UTF-8 text. */
const addRecording = (fileId: string, says: string) =>
  TelegramMemoryLog.use((log) => log.addFile(fileId, new TextEncoder().encode(says)))
const sentTexts = TelegramMemoryLog.use((log) =>
  Effect.map(log.sentMessages, (sent) => sent.map((message) => message.text))
)
const transcriptions = TranscriberMemoryControl.use((control) => control.requests)
const llmRequests = LanguageModelMemoryControl.use((control) => control.requests)

describe("voice messages", () => {
  it.effect("a voice note is answered from its transcript, stored with kind, length and cost", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* addRecording("voice-1", "what time is it in Paris")
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 12, file_size: 24 }))
      const [incoming, reply] = yield* messagesOf(bot)
      assert.strictEqual(incoming?.kind, "voice")
      assert.strictEqual(incoming?.text, "what time is it in Paris")
      assert.strictEqual(incoming?.mediaSeconds, 12)
      assert.strictEqual(incoming?.model, "gpt-4o-mini-transcribe")
      // 12 s at 0.003 USD a minute.
      assert.closeTo(incoming?.costUsd ?? 0, 0.0006, 1e-9)
      assert.strictEqual(reply?.text, "echo: what time is it in Paris")
      assert.deepStrictEqual(yield* sentTexts, ["echo: what time is it in Paris"])
      const [request] = yield* transcriptions
      assert.strictEqual(request?.fileName, "voice.oga")
      assert.strictEqual(request?.durationSeconds, 12)
    }).pipe(Effect.provide(harness()))
  )

  it.effect("audio files and video notes are listened to the same way", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* addRecording("audio-1", "first")
      yield* addRecording("round-1", "second")
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "audio-1", duration: 3 }, "audio"))
      yield* processUpdate(bot, voiceUpdate(2, { file_id: "round-1", duration: 4 }, "video_note"))
      assert.deepStrictEqual(yield* sentTexts, ["echo: first", "echo: second"])
      assert.deepStrictEqual(
        (yield* messagesOf(bot)).filter((m) => m.role === "user").map((m) => m.kind),
        ["audio", "video_note"]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a crash after the transcript was stored does not transcribe (and pay) again", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ streaming: false })
      yield* addRecording("voice-1", "hello there")
      yield* LanguageModelMemoryControl.use((control) => control.failNext("unavailable"))
      const failure = yield* Effect.flip(
        processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))
      )
      assert.strictEqual(failure._tag, "RetryLater")
      assert.strictEqual((yield* messagesOf(bot))[0]?.text, "hello there", "the transcript is stored first")
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))
      assert.strictEqual((yield* transcriptions).length, 1)
      assert.deepStrictEqual(yield* sentTexts, ["echo: hello there"])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("too long or too large: a clear reply, nothing downloaded or transcribed", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* addRecording("long", "x")
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "long", duration: 301 }))
      yield* processUpdate(
        bot,
        voiceUpdate(2, { file_id: "big", duration: 30, file_size: MEDIA_MAX_BYTES + 1 })
      )
      assert.deepStrictEqual(yield* sentTexts, [tooLongReply("voice", 300), tooLargeReply("voice")])
      assert.deepStrictEqual(yield* transcriptions, [])
      assert.strictEqual(
        yield* TelegramMemoryLog.use((log) =>
          Effect.map(log.calls, (c) => c.filter((x) => x.method === "downloadFile").length)
        ),
        0
      )
      const stored = yield* messagesOf(bot)
      assert.deepStrictEqual(
        stored.filter((m) => m.role === "user").map((m) => [m.kind, m.mediaSeconds]),
        [
          ["voice", 301],
          ["voice", 30]
        ]
      )
    }).pipe(Effect.provide(harness()))
  )

  it.effect("a file Telegram no longer has (404) gets a clear reply; the message is kept", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* TelegramMemoryLog.use((log) =>
        log.failNext("downloadFile", TelegramErrors.methodNotFound("downloadFile"))
      )
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "gone", duration: 5 }))
      assert.deepStrictEqual(yield* sentTexts, [unreadableReply("voice")])
      assert.deepStrictEqual(yield* transcriptions, [])
      assert.deepStrictEqual(yield* llmRequests, [])
      const [incoming, reply] = yield* messagesOf(bot)
      assert.strictEqual(incoming?.kind, "voice")
      assert.strictEqual(reply?.status, "sent")
    }).pipe(Effect.provide(harness()))
  )

  it.effect("an empty transcript: a clear reply, no model call", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* addRecording("silence", "   ")
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "silence", duration: 4 }))
      assert.deepStrictEqual(yield* sentTexts, [emptyTranscriptReply("voice")])
      assert.deepStrictEqual(yield* llmRequests, [])
      assert.strictEqual((yield* transcriptions).length, 1)
    }).pipe(Effect.provide(harness()))
  )

  it.effect(
    "transcription down (5xx, timeout): RetryLater, then the rerun answers; a 400 gets a clear reply",
    () =>
      Effect.gen(function* () {
        const { bot } = yield* addBot({ streaming: false })
        yield* addRecording("voice-1", "are you there")
        yield* TranscriberMemoryControl.use((control) => control.failNext("unavailable"))
        const first = yield* Effect.flip(
          processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))
        )
        assert.strictEqual(first._tag, "RetryLater")
        assert.deepStrictEqual(yield* sentTexts, [])
        yield* TranscriberMemoryControl.use((control) => control.failNext("timeout"))
        assert.strictEqual(
          (yield* Effect.flip(processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))))._tag,
          "RetryLater"
        )
        yield* processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))
        assert.deepStrictEqual(yield* sentTexts, ["echo: are you there"])

        yield* addRecording("voice-2", "garbled")
        yield* TranscriberMemoryControl.use((control) => control.failNext("bad_request"))
        yield* processUpdate(bot, voiceUpdate(2, { file_id: "voice-2", duration: 5 }))
        assert.deepStrictEqual(yield* sentTexts, ["echo: are you there", unreadableReply("voice")])
      }).pipe(Effect.provide(harness()))
  )

  it.effect("voice off: the bot says it reads text only, and nothing is downloaded", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ voice: false })
      yield* addRecording("voice-1", "hello")
      yield* processUpdate(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))
      assert.deepStrictEqual(yield* sentTexts, [unsupportedReply("voice message")])
      assert.deepStrictEqual(yield* transcriptions, [])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("transcription down for good: after the retries the user gets the error message once", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ errorMessage: "Sorry, not now." })
      yield* addRecording("voice-1", "hello")
      yield* TranscriberMemoryControl.use((control) =>
        control.failNext("unavailable", testPolicy.maxAttempts)
      )
      const chatKey = yield* receive(bot, voiceUpdate(1, { file_id: "voice-1", duration: 5 }))
      const outcomes: Array<string> = []
      for (let attempt = 1; attempt <= testPolicy.maxAttempts; attempt++) {
        outcomes.push(yield* drain(chatKey))
        yield* TestClock.adjust("1 minute")
      }
      assert.deepStrictEqual(outcomes, ["waiting", "waiting", "idle"])
      assert.strictEqual((yield* transcriptions).length, testPolicy.maxAttempts)
      assert.deepStrictEqual(yield* sentTexts, ["Sorry, not now."])
      assert.deepStrictEqual(yield* llmRequests, [])
      const [incoming, reply] = yield* messagesOf(bot)
      assert.strictEqual(incoming?.kind, "voice", "the voice message is kept")
      assert.strictEqual(reply?.status, "failed")
    }).pipe(Effect.provide(harness()))
  )
})

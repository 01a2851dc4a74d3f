/**
 * Voice answers end to end on the real server and the wire-level fakes: the
 * settings through the admin API, then a voice note in (FakeTelegram serves
 * the file, the fake transcription hears it) and a voice note out (the fake
 * speech endpoint's Ogg Opus uploaded to FakeTelegram's sendVoice with the
 * answer as its caption), the speech's cost in the reply's, and the text
 * fallback when the speech endpoint fails.
 */
import { Prices, SpeechPrices } from "@botfleet/adapters"
import { FakeOpenAI, OggOpus } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"

let nextUpdateId = 1
const voiceUpdate = (chatId: number, fileId: string, duration: number) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Ann" },
      from: { id: chatId, is_bot: false, first_name: "Ann" },
      voice: { file_id: fileId, file_unique_id: `u-${fileId}`, duration, mime_type: "audio/ogg" }
    }
  }
}

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("voice answers", (it) => {
  it.effect(
    "voiceReplies, speechModel, speechVoice: defaults, set on create and PATCH, bad values are 400",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { token } = telegramBot(server.telegram, "Speaker")
        const created = expectBody(yield* api.post("/api/bots", { name: "Speaker", token }), 201, BotView)
        assert.deepStrictEqual(
          {
            voiceReplies: created.voiceReplies,
            speechModel: created.speechModel,
            speechVoice: created.speechVoice
          },
          { voiceReplies: "off", speechModel: "gpt-4o-mini-tts", speechVoice: "alloy" }
        )
        const patched = expectBody(
          yield* api.patch(`/api/bots/${created.id}`, {
            voiceReplies: "always",
            speechModel: "tts-1-hd",
            speechVoice: "shimmer"
          }),
          200,
          BotView
        )
        assert.deepStrictEqual(
          {
            voiceReplies: patched.voiceReplies,
            speechModel: patched.speechModel,
            speechVoice: patched.speechVoice
          },
          { voiceReplies: "always", speechModel: "tts-1-hd", speechVoice: "shimmer" }
        )
        // Another server's voice by name is fine; markup, spaces and long names are not.
        assert.strictEqual(
          expectBody(
            yield* api.patch(`/api/bots/${created.id}`, { speechVoice: "de_DE-thorsten" }),
            200,
            BotView
          ).speechVoice,
          "de_DE-thorsten"
        )
        for (const speechVoice of ["two words", "<b>", "x".repeat(41), ""]) {
          expectError(yield* api.patch(`/api/bots/${created.id}`, { speechVoice }), 400, "invalid_request")
        }
        expectError(
          yield* api.patch(`/api/bots/${created.id}`, { voiceReplies: "sometimes" }),
          400,
          "invalid_request"
        )
        const after = expectBody(yield* api.get(`/api/bots/${created.id}`), 200, BotView)
        assert.strictEqual(after.voiceReplies, "always")
        assert.strictEqual(after.speechVoice, "de_DE-thorsten")
      })
  )

  it.effect(
    "a voice note in, a voice note out: Ogg Opus with the answer as caption, its cost in the reply's",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Talker")
        expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, {
            voiceReplies: "when_spoken_to",
            speechModel: "tts-1",
            speechVoice: "nova"
          }),
          200,
          BotView
        )
        yield* server.openai.setReply((request) => `heard: ${request.messages.at(-1)?.content ?? ""}`)
        server.telegram.addFile("voice-in", new TextEncoder().encode("what is the capital of France"))
        const chatId = 930_001
        const speechesBefore = (yield* server.openai.speeches).length
        assert.strictEqual(
          (yield* postUpdate(server.baseUrl, bot, voiceUpdate(chatId, "voice-in", 4))).status,
          200
        )
        yield* settled(server, bot.id)

        const answer = "heard: what is the capital of France"
        const voices = server.telegram.voices.filter((voice) => voice.chatId === chatId)
        assert.strictEqual(voices.length, 1)
        const [voice] = voices
        assert.strictEqual(voice?.method, "sendVoice")
        assert.strictEqual(voice?.caption, answer)
        assert.strictEqual(voice?.fileName, "answer.ogg")
        // The bytes the speech endpoint made, uploaded whole: an Ogg stream with an Opus head.
        assert.deepStrictEqual([...voice!.audio], [...FakeOpenAI.SPEECH_AUDIO])
        const pages = OggOpus.oggPages(voice!.audio)
        assert.isTrue(pages.length >= 3 && pages.every((page) => page.crcOk))
        assert.strictEqual(new TextDecoder().decode(pages[0]!.body.subarray(0, 8)), "OpusHead")
        assert.deepStrictEqual(server.telegram.sentTo(chatId), [], "no text message besides the caption")

        const speeches = (yield* server.openai.speeches).slice(speechesBefore)
        assert.deepStrictEqual(
          speeches.map((speech) => [speech.model, speech.voice, speech.input, speech.responseFormat]),
          [["tts-1", "nova", answer, "opus"]]
        )
        const actions = server.telegram.chatActions.filter((action) => action.chatId === chatId)
        assert.include(
          actions.map((action) => action.action),
          "record_voice"
        )

        const [reply] = yield* server.sql<{
          kind: string
          status: string
          model: string
          input_tokens: number
          output_tokens: number
          cost_usd: number
          telegram_message_ids: ReadonlyArray<string>
        }>`SELECT kind, status, model, input_tokens, output_tokens, cost_usd::float8 AS cost_usd, telegram_message_ids
         FROM messages WHERE bot_id = ${bot.id} AND role = 'assistant'`.pipe(Effect.orDie)
        assert.strictEqual(reply?.kind, "voice")
        assert.strictEqual(reply?.status, "sent")
        assert.deepStrictEqual(reply?.telegram_message_ids.map(Number), [voice?.messageId])
        const model = Prices.costOf(reply!.model, reply!.input_tokens, reply!.output_tokens)
        const speech = SpeechPrices.speechCost("tts-1", answer.length)
        assert.isAbove(speech, 0)
        assert.closeTo(reply!.cost_usd, model + speech, 1e-9)
      })
  )

  it.effect("the speech endpoint failing: the answer goes out as text", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Mute")
      expectBody(yield* api.patch(`/api/bots/${bot.id}`, { voiceReplies: "always" }), 200, BotView)
      yield* server.openai.setReply(() => "plain words")
      // 401: not retried by the adapter, so the fallback is immediate.
      yield* server.openai.failNextSpeech(401)
      const chatId = 930_002
      yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, "hello"))
      yield* settled(server, bot.id)
      assert.deepStrictEqual(
        server.telegram.sentTo(chatId).map((message) => message.text),
        ["plain words"]
      )
      assert.strictEqual(server.telegram.voices.filter((voice) => voice.chatId === chatId).length, 0)
      const [reply] = yield* server.sql<{ kind: string; status: string }>`
        SELECT kind, status FROM messages WHERE bot_id = ${bot.id} AND role = 'assistant'`.pipe(Effect.orDie)
      assert.deepStrictEqual(reply, { kind: "text", status: "sent" })
    })
  )
})

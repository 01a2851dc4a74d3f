/**
 * A voice answer's upload over real HTTP to FakeTelegram: multipart with the
 * bytes intact, the caption and its formatting, the topic and the quote;
 * another format goes as an audio file.
 */
import { TelegramGateway } from "@botfleet/application"
import { FakeOpenAI, FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as TelegramGatewayHttp from "../../src/telegramGateway/TelegramGatewayHttp.ts"

const SECRET = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
const token = Redacted.make(SECRET)
const CHAT = 4242

const Env = Layer.unwrap(
  Effect.map(FakeTelegram.FakeTelegram, (fake) => TelegramGatewayHttp.layer({ apiRoot: fake.apiRoot }))
).pipe(Layer.provideMerge(FakeTelegram.layer()))

layer(Env)("sendVoice", (it) => {
  it.effect("a voice note: the Ogg bytes whole, the caption with Markdown, topic and quote", () =>
    Effect.gen(function* () {
      const fake = yield* FakeTelegram.FakeTelegram
      fake.reset()
      fake.registerBot(SECRET, { id: 123456789, username: "fleet_test_bot", firstName: "Fleet" })
      const telegram = yield* TelegramGateway
      // Bytes a text upload would mangle: CR LF, NUL, high bytes.
      const audio = new Uint8Array([...FakeOpenAI.SPEECH_AUDIO, 0x0d, 0x0a, 0x00, 0xff, 0xfe])
      const sent = yield* telegram.sendVoice(token, {
        chatId: CHAT,
        audio,
        fileName: "answer.ogg",
        as: "voice",
        caption: "**Paris** — «capitale»",
        parseMode: "Markdown",
        topicId: 7,
        replyToMessageId: 3
      })
      const [voice] = fake.voices
      assert.strictEqual(voice?.messageId, sent.messageId)
      assert.strictEqual(voice?.method, "sendVoice")
      assert.strictEqual(voice?.fileName, "answer.ogg")
      assert.deepStrictEqual([...voice!.audio], [...audio])
      assert.strictEqual(voice?.caption, "**Paris** — «capitale»")
      assert.strictEqual(voice?.parseMode, "Markdown")
      assert.strictEqual(voice?.topicId, 7)
      assert.strictEqual(voice?.replyToMessageId, 3)
    })
  )

  it.effect("another format goes as an audio file; a caption over 1,024 characters is a 400", () =>
    Effect.gen(function* () {
      const fake = yield* FakeTelegram.FakeTelegram
      fake.reset()
      fake.registerBot(SECRET, { id: 123456789, username: "fleet_test_bot", firstName: "Fleet" })
      const telegram = yield* TelegramGateway
      const audio = new TextEncoder().encode("ID3 fake mp3")
      yield* telegram.sendVoice(token, { chatId: CHAT, audio, fileName: "answer.mp3", as: "audio" })
      assert.deepStrictEqual(
        fake.voices.map((voice) => [voice.method, voice.fileName, voice.caption]),
        [["sendAudio", "answer.mp3", null]]
      )
      const refused = yield* Effect.flip(
        telegram.sendVoice(token, {
          chatId: CHAT,
          audio,
          fileName: "a.ogg",
          as: "voice",
          caption: "x".repeat(1025)
        })
      )
      assert.strictEqual(refused.kind, "bad_request")
      assert.strictEqual(fake.voices.length, 1)
    })
  )
})

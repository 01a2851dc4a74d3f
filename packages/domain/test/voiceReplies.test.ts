import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import {
  answersByVoice,
  CAPTION_LIMIT,
  OPENAI_VOICES,
  replyParts,
  SPEECH_INPUT_LIMIT,
  SpeechVoice,
  speakableText,
  speaksAnswer
} from "../src/voiceReplies.ts"

const voice = { kind: "voice" as const }
const text = { kind: "text" as const }
const audio = { kind: "audio" as const }

describe("when an answer is spoken", () => {
  it("off never; when_spoken_to a voice message only; always every answer", () => {
    assert.deepStrictEqual(
      [voice, text, audio].map((question) => [
        answersByVoice("off", question),
        answersByVoice("when_spoken_to", question),
        answersByVoice("always", question)
      ]),
      [
        [false, true, true],
        [false, false, true],
        [false, false, true]
      ]
    )
  })

  it("not when the answer is longer than the speech endpoint takes, or has nothing to say", () => {
    assert.isTrue(speaksAnswer("always", text, "a".repeat(SPEECH_INPUT_LIMIT)))
    assert.isFalse(speaksAnswer("always", text, "a".repeat(SPEECH_INPUT_LIMIT + 1)))
    assert.isFalse(speaksAnswer("always", text, "** __ `` "))
  })
})

describe("replyParts", () => {
  const reply = (body: string, kind: "voice" | "text" = "voice") => ({
    kind,
    role: "assistant" as const,
    text: body
  })

  it("a spoken answer that fits a caption is one voice note captioned with it", () => {
    assert.deepStrictEqual(replyParts(reply("Hello.")), [{ _tag: "Voice", caption: "Hello." }])
    const full = "x".repeat(CAPTION_LIMIT)
    assert.deepStrictEqual(replyParts(reply(full)), [{ _tag: "Voice", caption: full }])
  })

  it("longer: the voice note, then the text in chunks", () => {
    const long = "y".repeat(CAPTION_LIMIT + 1)
    assert.deepStrictEqual(replyParts(reply(long)), [
      { _tag: "Voice", caption: null },
      { _tag: "Text", text: long }
    ])
  })

  it("a text reply, an admin's message and an incoming voice message are their chunks", () => {
    assert.deepStrictEqual(replyParts(reply("Hi", "text")), [{ _tag: "Text", text: "Hi" }])
    assert.deepStrictEqual(replyParts({ kind: "voice", role: "admin", text: "Hi" }), [
      { _tag: "Text", text: "Hi" }
    ])
    assert.deepStrictEqual(replyParts({ kind: "voice", role: "user", text: "Hi" }), [
      { _tag: "Text", text: "Hi" }
    ])
  })
})

describe("speakableText", () => {
  it("drops Markdown marks and reads a link as its words", () => {
    assert.strictEqual(
      speakableText("# Title\n**Bold** and _italic_ with `code`, a [link](https://x.y/z).\n- one\n- two"),
      "Title\nBold and italic with code, a link.\none\ntwo"
    )
  })
})

describe("SpeechVoice", () => {
  const valid = Schema.is(SpeechVoice)
  it("takes OpenAI's voices and other servers' names; refuses spaces, markup and long names", () => {
    for (const name of OPENAI_VOICES) assert.isTrue(valid(name), name)
    assert.isTrue(valid("de_DE-thorsten-medium"))
    for (const name of ["", "two words", "<b>", "x".repeat(41), "-leading"]) assert.isFalse(valid(name), name)
  })
})

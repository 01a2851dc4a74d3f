/**
 * Voice answers: when a reply is spoken, and how a spoken reply goes out.
 * Pure: the pipeline synthesises and sends, this decides. A spoken reply is
 * a reply whose `kind` is "voice"; it goes out as parts, the voice note first
 * (with the text as its caption when it fits), then the text as follow-up
 * messages when it does not. Parts are counted by `chunksSent` like a text
 * reply's chunks, so a part recorded as sent is never sent again.
 */
import { Schema } from "effect"
import type { Message } from "./Message.ts"
import { splitReply } from "./replyChunks.ts"
import { InputString } from "./text.ts"

/** off: never; when_spoken_to: a voice message is answered by voice; always: every model answer. */
export const VoiceReplies = Schema.Literals(["off", "when_spoken_to", "always"])
export type VoiceReplies = typeof VoiceReplies.Type

export const DEFAULT_SPEECH_MODEL = "gpt-4o-mini-tts"
export const DEFAULT_SPEECH_VOICE = "alloy"

/** OpenAI's voices for `/audio/speech`; other servers name theirs freely (40 characters at most). */
export const OPENAI_VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "fable",
  "nova",
  "onyx",
  "sage",
  "shimmer",
  "verse"
] as const

/** A voice name as a compatible server takes it: a plain token, no spaces or markup. */
export const SpeechVoice = InputString.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(40),
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/)
)

/** Telegram's limit for a media caption. */
export const CAPTION_LIMIT = 1024
/**
 * OpenAI's `/audio/speech` takes 4,096 characters at most. A longer answer
 * (about five minutes spoken) is sent as text only: nobody listens to a voice
 * note that long, and the text would follow in full anyway.
 */
export const SPEECH_INPUT_LIMIT = 4096

/**
 * Whether the model's answer to `question` is due as a voice note. Only
 * answers of the model: commands, refusals and the bot's fixed texts stay
 * text. Such an answer is not streamed as a draft: the text would show, then
 * a voice note saying it again.
 */
export const answersByVoice = (setting: VoiceReplies, question: Pick<Message, "kind">): boolean =>
  setting === "always" || (setting === "when_spoken_to" && question.kind === "voice")

/** Whether this answer is spoken: due by voice, with words to say that the speech endpoint takes. */
export const speaksAnswer = (
  setting: VoiceReplies,
  question: Pick<Message, "kind">,
  answer: string
): boolean => {
  if (!answersByVoice(setting, question)) return false
  const spoken = speakableText(answer)
  return spoken !== "" && spoken.length <= SPEECH_INPUT_LIMIT
}

/** One message of a reply as it goes out. */
export type ReplyPart =
  | { readonly _tag: "Voice"; readonly caption: string | null }
  | { readonly _tag: "Text"; readonly text: string }

/**
 * What a stored reply sends, in order: a text reply's chunks; a spoken
 * reply's voice note, captioned when the text fits, else followed by the text.
 */
export const replyParts = (message: Pick<Message, "kind" | "role" | "text">): ReadonlyArray<ReplyPart> => {
  const chunks = splitReply(message.text).map((text): ReplyPart => ({ _tag: "Text", text }))
  if (message.role !== "assistant" || message.kind !== "voice") return chunks
  const text = message.text.trim()
  return text.length <= CAPTION_LIMIT
    ? [{ _tag: "Voice", caption: text === "" ? null : text }]
    : [{ _tag: "Voice", caption: null }, ...chunks]
}

/**
 * What is read aloud: the Markdown the model writes, without its marks (a
 * voice reading "asterisk" helps nobody); a link reads as its words.
 */
export const speakableText = (markdown: string): string =>
  markdown
    .replace(/```[^\n]*\n?([\s\S]*?)```/g, "$1")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}#{1,6}\s+/gm, "")
    .replace(/^\s{0,3}>\s?/gm, "")
    .replace(/^\s*[-*+]\s+/gm, "")
    .replace(/(\*\*|__|\*|_|`|~~)/g, "")
    .replace(/[ \t]+\n/g, "\n")
    .trim()

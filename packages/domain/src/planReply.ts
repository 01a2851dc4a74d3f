/**
 * What the bot does with an incoming message, decided without I/O. This is
 * the place for every rule about whether and how to answer: group mentions
 * (groups.ts), access (Access.ts), media we cannot read or must transcribe
 * first, and commands. Limits on use are counted by the ledger, not here.
 */
import { checkAccess } from "./Access.ts"
import type { Bot } from "./Bot.ts"
import type { Chat } from "./Chat.ts"
import { parseCommand } from "./commands.ts"
import { type GroupAddress, groupSilence, isGroupChat } from "./groups.ts"
import {
  DEFAULT_VOICE_MAX_SECONDS,
  emptyTranscriptReply,
  type IncomingPhoto,
  type IncomingRecording,
  kindName,
  MEDIA_MAX_BYTES,
  PHOTO_MAX_BYTES,
  tooLargeReply,
  tooLongReply
} from "./media.ts"
import { type BotTexts, botTexts, englishTexts } from "./texts/botTexts.ts"
import { en } from "./texts/en.ts"

export const REFRESH_REPLY: string = en.newThread
export const UNKNOWN_COMMAND_REPLY: string = en.unknownCommand
/** `kind` as Telegram names it ("sticker", "voice"), or already in words. */
export const unsupportedReply = (kind: string, texts: BotTexts = englishTexts) =>
  texts.text("unsupported", { kind: kindName(kind, texts) })

/** The part of an incoming message the plan reads. */
export interface IncomingContent extends GroupAddress {
  /** The text, or a photo's caption; empty when there is none. */
  readonly text: string
  /** e.g. "photo" when the message is content without text we can read. */
  readonly unsupported: string | null
  /** A voice message, audio file or video note; a photo. */
  readonly recording?: IncomingRecording | null | undefined
  readonly photo?: IncomingPhoto | null | undefined
  /** Who wrote, as far as the bot's texts go: their Telegram language (in groups, the sender's). */
  readonly from?: { readonly languageCode: string | null } | null | undefined
}

/** Limits from the configuration. */
export interface PlanLimits {
  readonly voiceMaxSeconds: number
}

export type ReplyPlan =
  /** Answer with this text; no model call. */
  | { readonly _tag: "FixedAnswer"; readonly text: string }
  /** Start a new conversation thread, then answer with this text. */
  | { readonly _tag: "NewThread"; readonly text: string }
  /** Ask the model with the chat's current thread. */
  | { readonly _tag: "AskModel" }
  /** Store the message, answer nothing. */
  | { readonly _tag: "Ignore"; readonly reason: string }
  /** Not allowed to talk to this bot: `text` at most once a day, never the model. */
  | { readonly _tag: "Refuse"; readonly reason: "blocked" | "not_allowed"; readonly text: string }
  /** `/usage`: the sender's own use against the bot's limits. */
  | { readonly _tag: "ShowUsage" }
  /** `/mode`: the personas as buttons, the current one marked (Persona.ts). */
  | { readonly _tag: "ShowModes" }
  /** `/retry`: the conversation's last question answered again, the answer after it marked replaced. */
  | { readonly _tag: "Retry" }
  /** `/memory` (and its buttons, `/memory forget <id|all>`): the sender's notes, each with a Forget button. */
  | { readonly _tag: "ShowMemory" }
  /** Download and transcribe the recording, store the transcript, then `planTranscript`. */
  | { readonly _tag: "Transcribe"; readonly recording: IncomingRecording }

/** Every plan once the words of the message are known: nothing left to transcribe. */
export type AnswerPlan = Exclude<ReplyPlan, { readonly _tag: "Transcribe" }>

const fixed = (text: string): AnswerPlan => ({ _tag: "FixedAnswer", text })

/** The bot's texts in the language of the one who wrote. */
export const textsFor = (bot: Bot, incoming: Pick<IncomingContent, "from">): BotTexts =>
  botTexts(bot, incoming.from?.languageCode)

/** Groups first: a message not meant for the bot is stored as context and costs nothing. Then access. */
const gate = (
  bot: Bot,
  chat: Chat,
  incoming: IncomingContent,
  senderId: number | null
): AnswerPlan | null => {
  if (isGroupChat(chat.type)) {
    const silence = groupSilence(bot, incoming)
    if (silence !== null) return { _tag: "Ignore", reason: silence }
  }
  const access = checkAccess(bot, { userId: senderId, chatId: chat.telegramChatId })
  if (access._tag === "Denied") {
    return { _tag: "Refuse", reason: access.reason, text: textsFor(bot, incoming).text("denied") }
  }
  return null
}

/**
 * `senderId` is the Telegram user who wrote (null for a channel post). In a
 * group, a message not meant for the bot is ignored first (stored as context,
 * no refusal either); then access: a refused user gets no command, not even /start.
 */
export const planReply = (
  bot: Bot,
  chat: Chat,
  incoming: IncomingContent,
  senderId: number | null,
  limits: PlanLimits = { voiceMaxSeconds: DEFAULT_VOICE_MAX_SECONDS }
): ReplyPlan => {
  const gated = gate(bot, chat, incoming, senderId)
  if (gated !== null) return gated
  const recording = incoming.recording
  if (recording != null && !recording.transcribed) {
    const texts = textsFor(bot, incoming)
    if (!bot.voice) return fixed(unsupportedReply(recording.kind, texts))
    if (recording.fileSize !== null && recording.fileSize > MEDIA_MAX_BYTES) {
      return fixed(tooLargeReply(recording.kind, texts))
    }
    if (recording.durationSeconds > limits.voiceMaxSeconds) {
      return fixed(tooLongReply(recording.kind, limits.voiceMaxSeconds, texts))
    }
    return { _tag: "Transcribe", recording }
  }
  return planWords(bot, incoming)
}

/**
 * A recording planned as `Transcribe`, once its transcript is stored: planned
 * again as the text it said (a spoken "/start" is a command; in a group, the
 * transcript decides whether the bot was addressed).
 */
export const planTranscript = (
  bot: Bot,
  chat: Chat,
  incoming: IncomingContent,
  recording: IncomingRecording,
  transcript: string,
  senderId: number | null
): AnswerPlan => {
  const heard: IncomingContent = {
    ...incoming,
    text: transcript,
    recording: { ...recording, transcribed: true }
  }
  return gate(bot, chat, heard, senderId) ?? planWords(bot, heard)
}

/** The message's words (text, caption or transcript), past the gate and any transcription. */
const planWords = (bot: Bot, incoming: IncomingContent): AnswerPlan => {
  const texts = textsFor(bot, incoming)
  const recording = incoming.recording
  if (recording?.transcribed && incoming.text.trim() === "")
    return fixed(emptyTranscriptReply(recording.kind, texts))
  const photo = incoming.photo
  if (photo != null) {
    // Without vision a captioned photo is answered from its caption, as before.
    if (!bot.vision && incoming.text === "") return fixed(unsupportedReply("photo", texts))
    if (bot.vision && photo.fileSize !== null && photo.fileSize > PHOTO_MAX_BYTES) {
      return fixed(texts.text("photo.tooLarge"))
    }
  }
  if (incoming.unsupported !== null) return fixed(unsupportedReply(incoming.unsupported, texts))
  switch (parseCommand(incoming.text, bot.username)) {
    case "start":
      return fixed(texts.text("start"))
    case "help":
      return fixed(texts.text("help"))
    case "unknown":
      return fixed(`${texts.text("unknownCommand")} ${texts.text("help")}`)
    case "new":
    case "refresh":
      return { _tag: "NewThread", text: texts.text("newThread") }
    case "mode":
      return { _tag: "ShowModes" }
    case "retry":
      return { _tag: "Retry" }
    case "usage":
      return { _tag: "ShowUsage" }
    case "memory":
      return { _tag: "ShowMemory" }
    case undefined:
      return { _tag: "AskModel" }
  }
}

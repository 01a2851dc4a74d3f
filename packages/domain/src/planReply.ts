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
  MEDIA_MAX_BYTES,
  PHOTO_MAX_BYTES,
  PHOTO_TOO_LARGE_REPLY,
  recordingName,
  tooLargeReply,
  tooLongReply
} from "./media.ts"

export const REFRESH_REPLY = "Started a new conversation. I've forgotten what we talked about before."
export const UNKNOWN_COMMAND_REPLY = "I don't know that command."
export const unsupportedReply = (kind: string) =>
  `I can only read text for now, so I can't open this ${kind}. Please send your question as text.`

/** The part of an incoming message the plan reads. */
export interface IncomingContent extends GroupAddress {
  /** The text, or a photo's caption; empty when there is none. */
  readonly text: string
  /** e.g. "photo" when the message is content without text we can read. */
  readonly unsupported: string | null
  /** A voice message, audio file or video note; a photo. */
  readonly recording?: IncomingRecording | null | undefined
  readonly photo?: IncomingPhoto | null | undefined
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
  /** `/memory` (and its buttons, `/memory forget <id|all>`): the sender's notes, each with a Forget button. */
  | { readonly _tag: "ShowMemory" }
  /** Download and transcribe the recording, store the transcript, then `planTranscript`. */
  | { readonly _tag: "Transcribe"; readonly recording: IncomingRecording }

/** Every plan once the words of the message are known: nothing left to transcribe. */
export type AnswerPlan = Exclude<ReplyPlan, { readonly _tag: "Transcribe" }>

const fixed = (text: string): AnswerPlan => ({ _tag: "FixedAnswer", text })

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
  if (access._tag === "Denied") return { _tag: "Refuse", reason: access.reason, text: bot.deniedMessage }
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
    if (!bot.voice) return fixed(unsupportedReply(recordingName(recording.kind)))
    if (recording.fileSize !== null && recording.fileSize > MEDIA_MAX_BYTES) {
      return fixed(tooLargeReply(recording.kind))
    }
    if (recording.durationSeconds > limits.voiceMaxSeconds) {
      return fixed(tooLongReply(recording.kind, limits.voiceMaxSeconds))
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
  const recording = incoming.recording
  if (recording?.transcribed && incoming.text.trim() === "")
    return fixed(emptyTranscriptReply(recording.kind))
  const photo = incoming.photo
  if (photo != null) {
    // Without vision a captioned photo is answered from its caption, as before.
    if (!bot.vision && incoming.text === "") return fixed(unsupportedReply("photo"))
    if (bot.vision && photo.fileSize !== null && photo.fileSize > PHOTO_MAX_BYTES) {
      return fixed(PHOTO_TOO_LARGE_REPLY)
    }
  }
  if (incoming.unsupported !== null) return fixed(unsupportedReply(incoming.unsupported))
  switch (parseCommand(incoming.text, bot.username)) {
    case "start":
      return fixed(bot.startMessage)
    case "help":
      return fixed(bot.helpMessage)
    case "unknown":
      return fixed(`${UNKNOWN_COMMAND_REPLY} ${bot.helpMessage}`)
    case "refresh":
      return { _tag: "NewThread", text: REFRESH_REPLY }
    case "usage":
      return { _tag: "ShowUsage" }
    case "memory":
      return { _tag: "ShowMemory" }
    case undefined:
      return { _tag: "AskModel" }
  }
}

/**
 * Voice, audio and video notes (conversations): what a recording
 * needs before the model can answer it, and the clear replies when it cannot.
 * Pure: the pipeline downloads and transcribes, the planner decides.
 */
import { Schema } from "effect"
import { type BotTexts, englishTexts } from "./texts/botTexts.ts"
import { isTextKey } from "./texts/catalogue.ts"
import { en } from "./texts/en.ts"

/** What an incoming message was: text, or the media it carried (its transcript or caption is the text). */
export const MessageKind = Schema.Literals(["text", "voice", "audio", "video_note", "photo", "other"])
export type MessageKind = typeof MessageKind.Type

/** Recordings the bot can listen to. */
export type RecordingKind = "voice" | "audio" | "video_note"

/** Telegram lets bots download files up to 20 MB. */
export const MEDIA_MAX_BYTES = 20 * 1024 * 1024
export const DEFAULT_VOICE_MAX_SECONDS = 300

export interface IncomingRecording {
  readonly kind: RecordingKind
  readonly fileId: string
  readonly durationSeconds: number
  /** As Telegram reports it; null when it does not. */
  readonly fileSize: number | null
  /** The stored message already holds its transcript. */
  readonly transcribed: boolean
}

/** "voice message", or the reader's word for it. */
export const recordingName = (kind: RecordingKind, texts: BotTexts = englishTexts): string =>
  texts.text(`kind.${kind}`)

/** A kind of message as Telegram names it ("sticker"), in the reader's words when the catalogue has it. */
export const kindName = (kind: string, texts: BotTexts = englishTexts): string => {
  const key = `kind.${kind}`
  return isTextKey(key) ? texts.text(key) : kind
}

const durationText = (seconds: number, texts: BotTexts) =>
  seconds % 60 === 0
    ? texts.text("duration.minutes", { count: seconds / 60 })
    : texts.text("duration.seconds", { count: seconds })

export const tooLongReply = (kind: RecordingKind, maxSeconds: number, texts: BotTexts = englishTexts) =>
  texts.text("recording.tooLong", {
    kind: recordingName(kind, texts),
    duration: durationText(maxSeconds, texts)
  })
export const tooLargeReply = (kind: RecordingKind, texts: BotTexts = englishTexts) =>
  texts.text("recording.tooLarge", { kind: recordingName(kind, texts) })
export const emptyTranscriptReply = (kind: RecordingKind, texts: BotTexts = englishTexts) =>
  texts.text("recording.empty", { kind: recordingName(kind, texts) })
export const unreadableReply = (kind: RecordingKind, texts: BotTexts = englishTexts) =>
  texts.text("recording.unreadable", { kind: recordingName(kind, texts) })

// --- photos ---

/** The largest photo size we send to the model (as a data URL, so a third bigger on the wire). */
export const PHOTO_MAX_BYTES = 10 * 1024 * 1024

export interface IncomingPhoto {
  /** The largest size that fits PHOTO_MAX_BYTES (or the smallest, when none does). */
  readonly fileId: string
  readonly fileSize: number | null
}

export const PHOTO_TOO_LARGE_REPLY: string = en["photo.tooLarge"]
export const PHOTO_UNREADABLE_REPLY: string = en["photo.unreadable"]

/**
 * Voice, audio and video notes (conversations): what a recording
 * needs before the model can answer it, and the clear replies when it cannot.
 * Pure: the pipeline downloads and transcribes, the planner decides.
 */
import { Schema } from "effect"

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

const names: Record<RecordingKind, string> = {
  voice: "voice message",
  audio: "audio file",
  video_note: "video message"
}
export const recordingName = (kind: RecordingKind): string => names[kind]

export const tooLongReply = (kind: RecordingKind, maxSeconds: number) =>
  `This ${recordingName(kind)} is too long for me: I can listen to ${
    maxSeconds % 60 === 0 ? `${maxSeconds / 60} minutes` : `${maxSeconds} seconds`
  } at most. Please send a shorter one, or type your question.`
export const tooLargeReply = (kind: RecordingKind) =>
  `This ${recordingName(kind)} is larger than the 20 MB I can download. Please send a shorter one, or type your question.`
export const emptyTranscriptReply = (kind: RecordingKind) =>
  `I couldn't hear any words in this ${recordingName(kind)}. Please try again, or type your question.`
export const unreadableReply = (kind: RecordingKind) =>
  `I couldn't open this ${recordingName(kind)}. Please send it again, or type your question.`

// --- photos ---

/** The largest photo size we send to the model (as a data URL, so a third bigger on the wire). */
export const PHOTO_MAX_BYTES = 10 * 1024 * 1024

export interface IncomingPhoto {
  /** The largest size that fits PHOTO_MAX_BYTES (or the smallest, when none does). */
  readonly fileId: string
  readonly fileSize: number | null
}

export const PHOTO_TOO_LARGE_REPLY =
  "This photo is larger than the 10 MB I can look at. Please send a smaller one, or describe it in words."
export const PHOTO_UNREADABLE_REPLY =
  "I couldn't open this photo. Please send it again, or describe it in words."

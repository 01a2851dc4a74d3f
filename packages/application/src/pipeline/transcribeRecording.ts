/**
 * The step between storing a recording and answering it (conversations):
 * download the voice message, audio file or video note from
 * Telegram, transcribe it, and store the transcript as the message's text
 * (with the model and its cost) before anything else happens. A message that
 * already has its transcript is not sent to the transcriber again, so a crash
 * after this step does not pay twice.
 */
import {
  type Bot,
  type IncomingRecording,
  MEDIA_MAX_BYTES,
  type Message,
  MessageModel
} from "@botfleet/domain"
import { Context, Effect, Layer } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import * as Metrics from "../observability/metrics.ts"
import { spanFn } from "../observability/spanFn.ts"
import { MessageRepository } from "../ports/Repositories.ts"
import { TelegramGateway, type Token } from "../ports/TelegramGateway.ts"
import { Transcriber } from "../ports/Transcriber.ts"
import { matchTelegramFailure } from "./failures.ts"
import { type BotUnavailable, RetryLater } from "./PipelineErrors.ts"

export type TranscribeOutcome =
  /** The message as stored now, its text the transcript. */
  | { readonly _tag: "Transcribed"; readonly message: Message }
  /** It cannot be listened to (gone, refused): the user is told so (`unreadableReply`). */
  | { readonly _tag: "Unreadable"; readonly reason: string }

export class TranscribeRecording extends Context.Service<
  TranscribeRecording,
  {
    readonly transcribe: (
      bot: Bot,
      token: Token,
      message: Message,
      recording: IncomingRecording
    ) => Effect.Effect<TranscribeOutcome, RetryLater | BotUnavailable>
  }
>()("@botfleet/application/TranscribeRecording") {
  static readonly layer = Layer.effect(
    TranscribeRecording,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const access = yield* BotAccess
      const messages = yield* MessageRepository
      const telegram = yield* TelegramGateway
      const transcriber = yield* Transcriber

      const unreadable = (reason: string): TranscribeOutcome => ({ _tag: "Unreadable", reason })

      const transcribe = fn("Pipeline.ensureTranscribed")(function* (
        bot: Bot,
        token: Token,
        message: Message,
        recording: IncomingRecording
      ) {
        // Transcribed by an earlier run of this update: the transcript is stored.
        if (message.model !== null) return { _tag: "Transcribed", message } satisfies TranscribeOutcome

        const downloaded = yield* telegram.downloadFile(token, recording.fileId, MEDIA_MAX_BYTES).pipe(
          Effect.map((file) => ({ ok: true as const, file })),
          Effect.catchTag("TelegramError", (error) =>
            matchTelegramFailure(error, {
              stopBot: (reason) => access.stop(bot, reason),
              retry: Effect.fail,
              giveUp: (error) => Effect.succeed({ ok: false as const, reason: error.message })
            })
          )
        )
        if (!downloaded.ok) {
          yield* Metrics.count(Metrics.transcriptionErrors, { kind: "download" })
          return unreadable(downloaded.reason)
        }

        const extension = downloaded.file.filePath.split(".").pop() ?? "ogg"
        const result = yield* transcriber
          .transcribe({
            audio: downloaded.file.bytes,
            fileName: `${recording.kind}.${extension === downloaded.file.filePath ? "ogg" : extension}`,
            durationSeconds: recording.durationSeconds
          })
          .pipe(
            Effect.map((transcript) => ({ ok: true as const, transcript })),
            Effect.catchTag("TranscriptionError", (error) =>
              Effect.andThen(
                Effect.all([
                  Metrics.count(Metrics.transcriptionRequests, { model: error.model, outcome: "error" }),
                  Metrics.count(Metrics.transcriptionErrors, { kind: error.kind })
                ]),
                error.isRetryable
                  ? Effect.fail(
                      new RetryLater({ reason: error.message, retryAfterSeconds: error.retryAfterSeconds })
                    )
                  : Effect.succeed({ ok: false as const, reason: error.message })
              )
            )
          )
        if (!result.ok) return unreadable(result.reason)

        const { transcript } = result
        yield* Metrics.count(Metrics.transcriptionRequests, { model: transcript.model, outcome: "ok" })
        yield* Metrics.count(
          Metrics.transcriptionAudioSeconds,
          { model: transcript.model },
          recording.durationSeconds
        )
        const stored = MessageModel.transcribed(message, {
          text: transcript.text.trim(),
          model: transcript.model,
          costUsd: transcript.costUsd
        })
        yield* messages.update(stored).pipe(Effect.orDie)
        return { _tag: "Transcribed", message: stored } satisfies TranscribeOutcome
      })

      return TranscribeRecording.of({ transcribe })
    })
  )
}

/**
 * What to do with a message: `planReply` decides without I/O; a recording it
 * plans as `Transcribe` is transcribed first (the transcript is stored with
 * the message before the answer is made, so a rerun does not pay for it
 * again) and planned again from what it said. What comes out is never
 * `Transcribe`.
 */
import {
  type AnswerPlan,
  type Bot,
  type Chat,
  type IncomingContent,
  type Message,
  planReply,
  planTranscript,
  textsFor,
  unreadableReply
} from "@botfleet/domain"
import { Effect } from "effect"
import type { Token } from "../../ports/TelegramGateway.ts"
import { Transcriber } from "../../ports/Transcriber.ts"
import { TranscribeRecording } from "../transcribeRecording.ts"

export const makePlan = Effect.gen(function* () {
  const recordings = yield* TranscribeRecording
  const limits = { voiceMaxSeconds: (yield* Transcriber).maxSeconds }

  return (bot: Bot, token: Token, chat: Chat, incoming: Message, content: IncomingContent) =>
    Effect.gen(function* () {
      const plan = planReply(bot, chat, content, incoming.tgUserId, limits)
      if (plan._tag !== "Transcribe") return plan
      const heard = yield* recordings.transcribe(bot, token, incoming, plan.recording)
      if (heard._tag === "Unreadable") {
        yield* Effect.logWarning("recording not transcribed", { bot_id: bot.id, reason: heard.reason })
        const text = unreadableReply(plan.recording.kind, textsFor(bot, content))
        return { _tag: "FixedAnswer", text } satisfies AnswerPlan
      }
      return planTranscript(bot, chat, content, plan.recording, heard.message.text, incoming.tgUserId)
    })
})

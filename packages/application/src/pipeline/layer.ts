import { Layer } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import { ProviderAccess } from "../providers/ProviderAccess.ts"
import { GenerateReply } from "./generateReply.ts"
import { HandleUpdate } from "./HandleUpdate.ts"
import { ProviderPacing } from "./providerPacing.ts"
import { SaveIncoming } from "./saveIncoming.ts"
import { SendBudget } from "./sendBudget.ts"
import { SendReply } from "./sendReply.ts"
import { TranscribeRecording } from "./transcribeRecording.ts"

/**
 * The pipeline on the ports: its steps, the orchestration, and the bot access
 * they share (one bot cache, one send budget and one model-key pacer per process). The effect runner, the poller and
 * the admin use cases take SendReply and BotAccess from here.
 */
export const PipelineLayer = HandleUpdate.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(SaveIncoming.layer, GenerateReply.layer, SendReply.layer)),
  // conversations (issue 11): voice, audio and video notes
  Layer.provideMerge(TranscribeRecording.layer),
  Layer.provideMerge(
    Layer.mergeAll(BotAccess.layer, SendBudget.layer, ProviderAccess.layer, ProviderPacing.layer)
  )
)

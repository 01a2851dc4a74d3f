import { Layer } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import { McpServerService } from "../mcpServers/McpServerService.ts"
import { ProviderAccess } from "../providers/ProviderAccess.ts"
import { SettingsVersion } from "../settings/SettingsVersion.ts"
import { BuiltinToolkitLive } from "../tools/BuiltinToolkitLive.ts"
import { SearchKnowledgeToolkitLive } from "../tools/searchKnowledge.ts"
import { GenerateReply } from "./generateReply.ts"
import { HandleUpdate } from "./HandleUpdate.ts"
import { defaultProviderPacing, ProviderPacing, type ProviderPacingOptions } from "./providerPacing.ts"
import { SaveIncoming } from "./saveIncoming.ts"
import { SendBudget, type SendLimits, telegramLimits } from "./sendBudget.ts"
import { SendReply } from "./sendReply.ts"
import { TranscribeRecording } from "./transcribeRecording.ts"

export interface PacingOptions {
  readonly sendLimits: SendLimits
  readonly providerPacing: ProviderPacingOptions
}

/**
 * The pipeline on the ports: its steps, the orchestration, and what they
 * share (one settings version for the bot and provider caches, one send
 * budget and one model-key pacer per process).
 * The effect runner, the poller and the admin use cases take SendReply and
 * BotAccess from here. Use-case tests that are not about pacing give it
 * roomier limits, so their virtual clock need not walk through Telegram's.
 */
export const PipelineLayerWith = (pacing: PacingOptions) =>
  HandleUpdate.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(SaveIncoming.layer, GenerateReply.layer)),
    // /memory sends its reply with buttons from within GenerateReply.
    Layer.provideMerge(SendReply.layer),
    // conversations: voice, audio and video notes
    Layer.provideMerge(TranscribeRecording.layer),
    // The turn loop's tools: the built-ins' handlers (generate_image uses the bot's provider) and the bots' MCP servers
    Layer.provideMerge(
      Layer.mergeAll(BuiltinToolkitLive, SearchKnowledgeToolkitLive, McpServerService.layer)
    ),
    Layer.provideMerge(
      Layer.mergeAll(
        BotAccess.layer,
        SendBudget.layerWith(pacing.sendLimits),
        ProviderAccess.layer,
        ProviderPacing.layerWith(pacing.providerPacing)
      )
    ),
    Layer.provideMerge(SettingsVersion.layer)
  )

export const PipelineLayer = PipelineLayerWith({
  sendLimits: telegramLimits,
  providerPacing: defaultProviderPacing
})

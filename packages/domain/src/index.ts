export * from "./Access.ts"
export * as BotModel from "./Bot.ts"
export { Bot, BotMode } from "./Bot.ts"
export * from "./BotSettings.ts"
export * as ChatModel from "./Chat.ts"
export { Chat } from "./Chat.ts"
export * from "./commands.ts"
export * from "./contextBudget.ts"
export * from "./DomainEffect.ts"
export * from "./errors.ts"
export * from "./groups.ts"
export * from "./IncomingUpdate.ts"
export * from "./ids.ts"
export type {
  Block,
  Chunk,
  ChunkingSettings,
  DocumentFormat,
  DocumentSource,
  DocumentState,
  EmbeddingSettings,
  TextSearchLanguage
} from "./Knowledge.ts"
export * as KnowledgeModel from "./Knowledge.ts"
export {
  DocumentTooLarge,
  DocumentUnreadable,
  KnowledgeBase,
  KnowledgeBaseId,
  KnowledgeBaseNameTaken,
  KnowledgeBaseNotFound,
  KnowledgeDocument,
  KnowledgeDocumentId,
  KnowledgeDocumentNotFound,
  UnknownKnowledgeBases,
  UnsupportedDocumentFormat
} from "./Knowledge.ts"
export * as McpServerModel from "./McpServer.ts"
export {
  McpHeadersRefused,
  McpServer,
  McpServerId,
  McpServerInUse,
  McpServerNameTaken,
  McpServerNotFound,
  McpServerUnreachable,
  McpTool,
  McpToolUnavailable
} from "./McpServer.ts"
export * as MessageModel from "./Message.ts"
export {
  FailureKind,
  llmRole,
  Message,
  MessageRole,
  MessageStatus,
  PROVIDER_FAILING_KINDS,
  type Usage
} from "./Message.ts"
export * from "./media.ts"
export * from "./Persona.ts"
export * as ProviderModel from "./Provider.ts"
export { ModelPrice, ModelPrices, Provider } from "./Provider.ts"
export * from "./pagination.ts"
export * from "./planReply.ts"
export * from "./replyChunks.ts"
export { TgUser } from "./TgUser.ts"
export { isAfter as isAfterSummary, ThreadSummary } from "./ThreadSummary.ts"
export * from "./text.ts"
export * from "./texts/index.ts"
export * from "./timeZone.ts"
export { trusted } from "./trusted.ts"
export * from "./UserNote.ts"
export * from "./voiceReplies.ts"

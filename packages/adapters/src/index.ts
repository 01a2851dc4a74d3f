// Alerts (issue 13)
export * as AlertStoreMemory from "./alerts/AlertStoreMemory.ts"
export * as AlertStorePg from "./alerts/AlertStorePg.ts"
export * as AlertWebhookFetch from "./alerts/AlertWebhookFetch.ts"
export * as AlertWebhookMemory from "./alerts/AlertWebhookMemory.ts"
// Roles and the audit log
export * from "./audit/index.ts"
export * from "./auth/index.ts"
export * from "./crypto/index.ts"
// Failures of every kind (issue 13)
export * as FailureLogMemory from "./failures/FailureLogMemory.ts"
export * as FailureLogPg from "./failures/FailureLogPg.ts"
export * as UpdateInboxMemory from "./inbox/UpdateInboxMemory.ts"
export * as UpdateInboxPg from "./inbox/UpdateInboxPg.ts"
export * as LanguageModelMemory from "./llm/LanguageModelMemory.ts"
export * as LanguageModelOpenAI from "./llm/LanguageModelOpenAI.ts"
// providers (issue 12)
export * as ProviderProbeHttp from "./llm/ProviderProbeHttp.ts"
export * as ProviderProbeMemory from "./llm/ProviderProbeMemory.ts"
export * as Prices from "./llm/prices.ts"
export * from "./memory/index.ts"
// The guarded client for URLs an admin (or a model) supplies
export * as OutboundAddresses from "./outbound/addresses.ts"
export * as OutboundClient from "./outbound/OutboundClient.ts"
export * as OutboundHttpNode from "./outbound/OutboundHttpNode.ts"
export * from "./postgres/repositories/index.ts"
// Scheduler (issue 13)
export * as JobRunsMemory from "./scheduler/JobRunsMemory.ts"
export * as JobRunsPg from "./scheduler/JobRunsPg.ts"
export * as MaintenanceMemory from "./scheduler/MaintenanceMemory.ts"
export * as MaintenancePg from "./scheduler/MaintenancePg.ts"
// conversations (issue 11)
export * as TranscriberMemory from "./speech/TranscriberMemory.ts"
export * as TranscriberOpenAI from "./speech/TranscriberOpenAI.ts"
export * as TelegramGatewayHttp from "./telegram/TelegramGatewayHttp.ts"
export * as TelegramGatewayMemory from "./telegram/TelegramGatewayMemory.ts"
export * as TelegramUpdates from "./telegramGateway/readUpdate.ts"

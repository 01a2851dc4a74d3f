// One folder per port module of the application (application/src/ports/<Port>.ts ->
// adapters/src/<port>/), with its PostgreSQL and memory implementations side by side.
// `postgres/` and `memory/` hold only the shared machinery (pool, migrations, the
// in-memory store), never an adapter.

// admins: AdminRepository, InvitationRepository, SessionRepository, PasswordHasher
export * as AdminRepositoryPg from "./admins/AdminRepositoryPg.ts"
export * as AdminsMemory from "./admins/AdminsMemory.ts"
export * as InvitationRepositoryPg from "./admins/InvitationRepositoryPg.ts"
export * as PasswordHasherArgon2 from "./admins/PasswordHasherArgon2.ts"
export * as PasswordHasherScrypt from "./admins/PasswordHasherScrypt.ts"
// alerts: AlertStore, AlertWebhook
export * as AlertStoreMemory from "./alerts/AlertStoreMemory.ts"
export * as AlertStorePg from "./alerts/AlertStorePg.ts"
export * as AlertWebhookFetch from "./alerts/AlertWebhookFetch.ts"
export * as AlertWebhookMemory from "./alerts/AlertWebhookMemory.ts"
// audit: AuditLog
export * as AuditLogMemory from "./audit/AuditLogMemory.ts"
export * as AuditLogPg from "./audit/AuditLogPg.ts"
// failures: FailureLog
export * as FailureLogMemory from "./failures/FailureLogMemory.ts"
export * as FailureLogPg from "./failures/FailureLogPg.ts"
// imageGenerator: ImageGenerator (generate_image), through the guarded client
export * as ImageGeneratorMemory from "./imageGenerator/ImageGeneratorMemory.ts"
export * as ImageGeneratorOpenAI from "./imageGenerator/ImageGeneratorOpenAI.ts"
export * as ImagePrices from "./imageGenerator/imagePrices.ts"
// knowledgeBases: KnowledgeRepository, DocumentReader, Embeddings
export * as DocumentReaderFiles from "./knowledgeBases/DocumentReaderFiles.ts"
export * as EmbeddingsOpenAI from "./knowledgeBases/EmbeddingsOpenAI.ts"
export * as KnowledgeRepositoryMemory from "./knowledgeBases/KnowledgeRepositoryMemory.ts"
export * as KnowledgeRepositoryPg from "./knowledgeBases/KnowledgeRepositoryPg.ts"
// languageModel: LanguageModel
export * as LanguageModelMemory from "./languageModel/LanguageModelMemory.ts"
export * as LanguageModelOpenAI from "./languageModel/LanguageModelOpenAI.ts"
export * as Prices from "./languageModel/prices.ts"
// scheduler: JobRuns, Maintenance
// mcpServers: McpServerRepository, McpConnector (reached through the guarded client)
export * as McpConnectorHttp from "./mcpServers/McpConnectorHttp.ts"
export * as McpConnectorMemory from "./mcpServers/McpConnectorMemory.ts"
export * as McpServerRepositoryMemory from "./mcpServers/McpServerRepositoryMemory.ts"
export * as McpServerRepositoryPg from "./mcpServers/McpServerRepositoryPg.ts"
// shared in-memory store behind the memory twins
export * as MemoryStore from "./memory/MemoryStore.ts"
// outbound: OutboundHttp, the guarded client for URLs an admin or a model supplies
export * as OutboundAddresses from "./outbound/addresses.ts"
export * as OutboundClient from "./outbound/OutboundClient.ts"
export * as OutboundHttpNode from "./outbound/OutboundHttpNode.ts"
// pageText: PageText (fetch_url's readable text)
export * as PageTextReadability from "./pageText/PageTextReadability.ts"
export { uniqueConstraintOf } from "./postgres/uniqueViolation.ts"
// providers: ProviderRepository, ProviderProbe
export * as ProviderProbeHttp from "./providers/ProviderProbeHttp.ts"
export * as ProviderProbeMemory from "./providers/ProviderProbeMemory.ts"
export * as ProviderRepositoryMemory from "./providers/ProviderRepositoryMemory.ts"
export * as ProviderRepositoryPg from "./providers/ProviderRepositoryPg.ts"
// repositories: Transactions, BotRepository, ChatRepository, MessageRepository, EffectOutbox
export * as BotRepositoryMemory from "./repositories/BotRepositoryMemory.ts"
export * as BotRepositoryPg from "./repositories/BotRepositoryPg.ts"
export * as ChatRepositoryMemory from "./repositories/ChatRepositoryMemory.ts"
export * as ChatRepositoryPg from "./repositories/ChatRepositoryPg.ts"
export * as EffectOutboxMemory from "./repositories/EffectOutboxMemory.ts"
export * as EffectOutboxPg from "./repositories/EffectOutboxPg.ts"
export * as MessageRepositoryMemory from "./repositories/MessageRepositoryMemory.ts"
export * as MessageRepositoryPg from "./repositories/MessageRepositoryPg.ts"
export * as RepositoriesMemory from "./repositories/RepositoriesMemory.ts"
export * as RepositoriesPg from "./repositories/RepositoriesPg.ts"
export * as TransactionsMemory from "./repositories/TransactionsMemory.ts"
export * as TransactionsPg from "./repositories/TransactionsPg.ts"
export * as JobRunsMemory from "./scheduler/JobRunsMemory.ts"
export * as JobRunsPg from "./scheduler/JobRunsPg.ts"
export * as MaintenanceMemory from "./scheduler/MaintenanceMemory.ts"
export * as MaintenancePg from "./scheduler/MaintenancePg.ts"
// secretBox: SecretBox
export * as SecretBoxAes from "./secretBox/SecretBoxAes.ts"
export * as SecretBoxMemory from "./secretBox/SecretBoxMemory.ts"
// setupTokens: SetupTokens
export * as SetupTokensMemory from "./setupTokens/SetupTokensMemory.ts"
export * as SetupTokensPg from "./setupTokens/SetupTokensPg.ts"
// speechSynthesizer: SpeechSynthesizer
export * as SpeechSynthesizerMemory from "./speechSynthesizer/SpeechSynthesizerMemory.ts"
export * as SpeechSynthesizerOpenAI from "./speechSynthesizer/SpeechSynthesizerOpenAI.ts"
export * as SpeechPrices from "./speechSynthesizer/speechPrices.ts"
// statsRepository: StatsRepository
export * as StatsRepositoryMemory from "./statsRepository/StatsRepositoryMemory.ts"
export * as StatsRepositoryPg from "./statsRepository/StatsRepositoryPg.ts"
export * as TelegramUpdates from "./telegramGateway/readUpdate.ts"
// telegramGateway: TelegramGateway
export * as TelegramGatewayHttp from "./telegramGateway/TelegramGatewayHttp.ts"
export * as TelegramGatewayMemory from "./telegramGateway/TelegramGatewayMemory.ts"
// threadSummaries: ThreadSummaries
export * as ThreadSummariesMemory from "./threadSummaries/ThreadSummariesMemory.ts"
export * as ThreadSummariesPg from "./threadSummaries/ThreadSummariesPg.ts"
// tokenCounter: TokenCounter
export * as TokenCounterTiktoken from "./tokenCounter/TokenCounterTiktoken.ts"
// toolCalls: ToolCallRepository
export * as ToolCallRepositoryMemory from "./toolCalls/ToolCallRepositoryMemory.ts"
export * as ToolCallRepositoryPg from "./toolCalls/ToolCallRepositoryPg.ts"
// transcriber: Transcriber
export * as TranscriberMemory from "./transcriber/TranscriberMemory.ts"
export * as TranscriberOpenAI from "./transcriber/TranscriberOpenAI.ts"
// updateInbox: UpdateInbox
export * as UpdateInboxMemory from "./updateInbox/UpdateInboxMemory.ts"
export * as UpdateInboxPg from "./updateInbox/UpdateInboxPg.ts"
// usageLedger: UsageLedger
export * as UsageLedgerMemory from "./usageLedger/UsageLedgerMemory.ts"
export * as UsageLedgerPg from "./usageLedger/UsageLedgerPg.ts"
// userNotes: UserNotes (remember / forget, /memory)
export * as UserNotesMemory from "./userNotes/UserNotesMemory.ts"
export * as UserNotesPg from "./userNotes/UserNotesPg.ts"

/** Domain values as the API shows them: ISO times, no secrets. */
import type { ChatWithUser, FailedUpdate, ProviderWithBots } from "@botfleet/application"
import { type Bot, BotModel, type Message } from "@botfleet/domain"
import { Option } from "effect"
import type { BotView, ChatView, FailedUpdateView, MessageView, ProviderView } from "./schemas.ts"

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

/**
 * `providerModels`: each provider's default model (providers, issue 12), so
 * that effectiveModel says what a provider's bot really asks for.
 */
export const toBotView = (
  bot: Bot,
  settings: { readonly publicUrl: Option.Option<URL>; readonly defaultModel: string },
  providerModels: ReadonlyMap<string, string | null> = new Map()
): BotView => ({
  id: bot.id,
  name: bot.name,
  username: bot.username,
  tokenHint: bot.tokenHint,
  active: bot.active,
  mode: BotModel.modeFor(Option.getOrUndefined(settings.publicUrl)),
  model: bot.model,
  effectiveModel:
    bot.model ??
    (bot.providerId === null ? null : providerModels.get(bot.providerId)) ??
    settings.defaultModel,
  systemPrompt: bot.systemPrompt,
  startMessage: bot.startMessage,
  helpMessage: bot.helpMessage,
  errorMessage: bot.errorMessage,
  historyLimit: bot.historyLimit,
  lastError: bot.lastError,
  lastErrorAt: iso(bot.lastErrorAt),
  createdAt: bot.createdAt.toISOString(),
  updatedAt: bot.updatedAt.toISOString(),
  // access and limits (issue 12)
  access: bot.access,
  allowedUserIds: bot.allowedUserIds,
  allowedChatIds: bot.allowedChatIds,
  blockedUserIds: bot.blockedUserIds,
  deniedMessage: bot.deniedMessage,
  limits: bot.limits,
  limitMessage: bot.limitMessage,
  // providers (issue 12)
  providerId: bot.providerId,
  fallbackModel: bot.fallbackModel,
  temperature: bot.temperature,
  maxOutputTokens: bot.maxOutputTokens,
  // conversations (issue 11)
  groupMode: bot.groupMode,
  streaming: bot.streaming,
  voice: bot.voice,
  vision: bot.vision,
  // ops (issue 13)
  historyRetentionDays: bot.historyRetentionDays,
  knowledgeBaseIds: bot.knowledgeBaseIds
})

export const toChatView = ({ chat, user }: ChatWithUser): ChatView => ({
  id: chat.id,
  botId: chat.botId,
  telegramChatId: chat.telegramChatId,
  type: chat.type,
  title: chat.title,
  user: Option.match(user, {
    onNone: () => null,
    onSome: (u) => ({
      telegramId: u.telegramId,
      firstName: u.firstName,
      lastName: u.lastName,
      username: u.username,
      languageCode: u.languageCode
    })
  }),
  thread: chat.thread,
  lastError: chat.lastError,
  lastMessageAt: iso(chat.lastMessageAt),
  createdAt: chat.createdAt.toISOString()
})

export const toMessageView = (message: Message): MessageView => ({
  id: message.id,
  chatId: message.chatId,
  botId: message.botId,
  role: message.role,
  text: message.text,
  thread: message.thread,
  status: message.status,
  error: message.error,
  model: message.model,
  inputTokens: message.inputTokens,
  outputTokens: message.outputTokens,
  costUsd: message.costUsd,
  telegramMessageIds: message.telegramMessageIds,
  replyTo: message.replyTo,
  createdAt: message.createdAt.toISOString(),
  sentAt: iso(message.sentAt),
  // conversations (issue 11)
  kind: message.kind,
  mediaSeconds: message.mediaSeconds,
  senderName: message.senderName
})

export const toFailedUpdateView = (update: FailedUpdate): FailedUpdateView => ({
  id: update.id,
  botId: update.botId,
  updateId: update.updateId,
  error: update.error,
  attempts: update.attempts,
  receivedAt: update.receivedAt.toISOString(),
  failedAt: iso(update.failedAt)
})

/** providers (issue 12): never the key, only its hint. */
export const toProviderView = ({ provider, bots }: ProviderWithBots): ProviderView => ({
  id: provider.id,
  name: provider.name,
  baseUrl: provider.baseUrl,
  apiKeyHint: provider.apiKeyHint,
  defaultModel: provider.defaultModel,
  prices: provider.prices,
  bots: bots.map((bot) => ({ id: bot.id, name: bot.name })),
  createdAt: provider.createdAt.toISOString(),
  updatedAt: provider.updatedAt.toISOString()
})

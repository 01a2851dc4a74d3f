/** Domain values as the API shows them: ISO times, no secrets. */
import type {
  ChatWithUser,
  FailedUpdate,
  FailureWithMessage,
  ProviderWithBots,
  StoredToolCall
} from "@botfleet/application"
import {
  type Bot,
  BotModel,
  botSettingsOf,
  ChatModel,
  type Message,
  type ThreadSummary
} from "@botfleet/domain"
import { Option } from "effect"
import type {
  BotView,
  ChatView,
  FailedUpdateView,
  FailureView,
  MessageView,
  ProviderView,
  SummaryView,
  ToolCallView
} from "./schemas.ts"

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

/**
 * `providerModels`: each provider's default model, so that effectiveModel
 * says what a provider's bot really asks for.
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
  effectiveModel:
    bot.model ??
    (bot.providerId === null ? null : providerModels.get(bot.providerId)) ??
    settings.defaultModel,
  lastError: bot.lastError,
  lastErrorAt: iso(bot.lastErrorAt),
  createdAt: bot.createdAt.toISOString(),
  updatedAt: bot.updatedAt.toISOString(),
  ...botSettingsOf(bot)
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
  conversations: Object.entries(chat.topics).map(([key, state]) => ({
    topicId: key === "0" ? null : Number(key),
    persona: state.persona ?? null,
    thread: ChatModel.threadOf(chat, key === "0" ? null : Number(key))
  })),
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
  kind: message.kind,
  mediaSeconds: message.mediaSeconds,
  senderName: message.senderName,
  topicId: message.topicId,
  replacedAt: iso(message.replacedAt)
})

export const toSummaryView = (summary: ThreadSummary): SummaryView => ({
  id: summary.id,
  thread: summary.thread,
  topicId: summary.topicId,
  coversUpTo: summary.coversUpTo,
  text: summary.text,
  model: summary.model,
  inputTokens: summary.inputTokens,
  outputTokens: summary.outputTokens,
  costUsd: summary.costUsd,
  createdAt: summary.createdAt.toISOString()
})

/** What the transcript shows of a tool's arguments and result; the whole is stored. */
export const TOOL_TEXT_MAX = 2_000

const cutText = (text: string) => (text.length > TOOL_TEXT_MAX ? `${text.slice(0, TOOL_TEXT_MAX)}…` : text)

export const toToolCallView = (call: StoredToolCall): ToolCallView => ({
  step: call.step,
  name: call.name,
  arguments: cutText(call.arguments),
  status: call.status,
  isError: call.isError,
  result: call.result === null ? null : cutText(call.result),
  resultChars: call.result?.length ?? 0,
  startedAt: call.startedAt.toISOString(),
  durationMs: call.finishedAt === null ? null : call.finishedAt.getTime() - call.startedAt.getTime()
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

/** Never the key, only its hint. */
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

/** A failure of any kind, with the failed message when it is one. */
export const toFailureView = ({ failure, message }: FailureWithMessage): FailureView => ({
  id: failure.ref,
  kind: failure.kind,
  botId: failure.botId,
  chatId: failure.chatId,
  error: failure.error,
  attempts: failure.attempts,
  at: failure.at.toISOString(),
  summary: failure.summary,
  message: Option.match(message, { onNone: () => null, onSome: toMessageView })
})

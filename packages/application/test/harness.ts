/**
 * The use cases on in-memory twins: no database, no network. Each test builds
 * its own harness (`Effect.provide(harness())`), so nothing leaks between tests.
 *
 * Time is the TestClock: each update arrives a second after the previous one
 * and the model takes a second to answer, so stored messages have distinct,
 * increasing timestamps and the "typing…" fiber gets to run.
 */
import {
  AlertStoreMemory,
  AlertWebhookMemory,
  DocumentReaderFiles,
  FailureLogMemory,
  ImageGeneratorMemory,
  JobRunsMemory,
  KnowledgeRepositoryMemory,
  LanguageModelMemory,
  MaintenanceMemory,
  McpConnectorMemory,
  McpServerRepositoryMemory,
  PageTextReadability,
  RepositoriesMemory,
  SecretBoxMemory,
  SpeechSynthesizerMemory,
  StatsRepositoryMemory,
  TelegramGatewayMemory,
  TelegramUpdates,
  ThreadSummariesMemory,
  TokenCounterTiktoken,
  ToolCallRepositoryMemory,
  TranscriberMemory,
  UpdateInboxMemory,
  UserNotesMemory
} from "@botfleet/adapters"
import {
  AlertService,
  type BotInput,
  BotService,
  ChatRepository,
  ChatWorker,
  defaultProviderPacing,
  EffectOutbox,
  EffectRunner,
  Embeddings,
  HandleUpdate,
  type ImageGenerator,
  KnowledgeService,
  KnowledgeSettings,
  LanguageModel,
  MessageRepository,
  OutboundHttp,
  type PacingOptions,
  PipelineLayerWith,
  type RetryPolicy,
  Settings,
  SettingsVersion,
  TelegramGateway,
  TokenCounter,
  telegramLimits,
  UpdateInbox,
  UrlNotAllowed
} from "@botfleet/application"
import {
  type Bot,
  type Chat,
  chatKeyOfUpdate,
  type DomainEffect,
  type IncomingUpdate,
  type Message
} from "@botfleet/domain"
import { FakeEmbedding } from "@botfleet/testing"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import { TestClock } from "effect/testing"

export const testPolicy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 10_000 }

export interface HarnessOptions {
  readonly publicUrl?: string | undefined
  readonly policy?: RetryPolicy | undefined
  /** Wraps the Telegram twin, for faults its `failNext` cannot script (say, "the second send"). */
  readonly telegram?: ((gateway: TelegramGateway["Service"]) => TelegramGateway["Service"]) | undefined
  /**
   * Telegram's real send limits (one a second per chat...). By default the
   * harness sends without them: its tests are not about pacing (sendBudget,
   * fairness and flood tests are) and their clock would have to walk through
   * every wait.
   */
  readonly pacing?: PacingOptions | undefined
  /**
   * "adjusts": each answer moves the clock on by a second itself (one chat at
   * a time); "sleeps": each answer sleeps a second of virtual time, so many
   * chats can wait on the model at once while the test drives the clock.
   */
  readonly model?: "adjusts" | "sleeps" | undefined
  /** The embeddings server; by default deterministic fake vectors (FakeEmbedding). */
  readonly embeddings?: Embeddings["Service"] | undefined
  /** The image server; by default the memory twin (one tiny PNG, a fixed price). */
  readonly images?: Layer.Layer<ImageGenerator> | undefined
  /** The token counter; by default the real one (gpt-tokenizer, the estimate for "test-model"). */
  readonly tokenCounter?: TokenCounter["Service"] | undefined
}

const fakeEmbeddings = Embeddings.of({
  embed: (request) =>
    Effect.succeed({
      vectors: request.inputs.map((input) => FakeEmbedding.fakeEmbedding(input, 32)),
      inputTokens: request.inputs.length
    })
})

/** Knowledge bases on the memory twin; documents are pasted text (every URL refused). */
const knowledgeLayer = (embeddings: Embeddings["Service"]) =>
  KnowledgeService.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        KnowledgeRepositoryMemory.layerMemory,
        DocumentReaderFiles.layer,
        Layer.succeed(KnowledgeSettings, KnowledgeSettings.of({ maxDocumentBytes: 1_000_000 })),
        Layer.succeed(
          OutboundHttp,
          OutboundHttp.of({
            checkUrl: () => Effect.fail(new UrlNotAllowed({ rule: "test: every URL refused" })),
            request: () => Effect.fail(new UrlNotAllowed({ rule: "test: every URL refused" })),
            open: () => Effect.fail(new UrlNotAllowed({ rule: "test: every URL refused" }))
          })
        ),
        Layer.succeed(Embeddings, embeddings)
      )
    )
  )

/** Answers after a second of virtual time, without moving the clock itself. */
const sleepingModel = Layer.effect(
  LanguageModel,
  LanguageModel.useSync((model) =>
    LanguageModel.of({
      complete: (request) => Effect.andThen(Effect.sleep("1 second"), model.complete(request)),
      stream: (request) => model.stream(request).pipe(Stream.tap(() => Effect.sleep("100 millis")))
    })
  )
)

/** No send waits and nothing paced, for use-case tests about other things. */
export const roomyPacing: PacingOptions = {
  sendLimits: {
    ...telegramLimits,
    perBot: { perSecond: 1_000_000, burst: 1_000_000 },
    perChat: { perSecond: 1_000_000, burst: 1_000_000 },
    perGroup: { perSecond: 1_000_000, burst: 1_000_000 }
  },
  providerPacing: defaultProviderPacing
}

/**
 * The model "thinks" for a second of virtual time before answering; a streamed
 * answer takes 100 ms of virtual time per piece, so drafts get their turn.
 */
const thinkingModel = Layer.effect(
  LanguageModel,
  LanguageModel.useSync((model) =>
    LanguageModel.of({
      complete: (request) => Effect.andThen(TestClock.adjust("1 second"), model.complete(request)),
      stream: (request) => model.stream(request).pipe(Stream.tap(() => TestClock.adjust("100 millis")))
    })
  )
)

export const harness = (options: HarnessOptions = {}) => {
  const wrap = options.telegram
  // provideMerge keeps the outer layer's service: the wrapped gateway replaces the twin's.
  const telegram = wrap
    ? Layer.effect(TelegramGateway, TelegramGateway.useSync(wrap)).pipe(
        Layer.provideMerge(TelegramGatewayMemory.layerMemory)
      )
    : TelegramGatewayMemory.layerMemory
  const settings = Layer.succeed(
    Settings,
    Settings.of({
      publicUrl: Option.map(Option.fromUndefinedOr(options.publicUrl), (url) => new URL(url)),
      defaultModel: "test-model",
      registrationToken: Option.none(),
      sessionIdleMinutes: 120
    })
  )
  const infrastructure = Layer.mergeAll(
    RepositoriesMemory.layer,
    McpServerRepositoryMemory.layerMemory,
    UserNotesMemory.layerMemory,
    options.images ?? ImageGeneratorMemory.layerMemory,
    // Tools: MCP servers scripted in memory, tool calls stored in memory
    McpConnectorMemory.layerMemory,
    ToolCallRepositoryMemory.layerMemory,
    PageTextReadability.layer,
    UpdateInboxMemory.layerMemory,
    telegram,
    (options.model === "sleeps" ? sleepingModel : thinkingModel).pipe(
      Layer.provideMerge(LanguageModelMemory.layerMemory())
    ),
    SecretBoxMemory.layerMemory,
    ThreadSummariesMemory.layerMemory,
    options.tokenCounter ? Layer.succeed(TokenCounter, options.tokenCounter) : TokenCounterTiktoken.layer,
    settings,
    TranscriberMemory.layerMemory({ maxSeconds: 300 }),
    SpeechSynthesizerMemory.layerMemory
  )
  // Alerts (with a webhook twin), the scheduler's storage and the stats, on the same tables.
  const ops = Layer.mergeAll(
    AlertService.layer,
    FailureLogMemory.layerMemory,
    JobRunsMemory.layerMemory,
    MaintenanceMemory.layerMemory,
    StatsRepositoryMemory.layerMemory
  ).pipe(Layer.provideMerge(Layer.mergeAll(AlertStoreMemory.layerMemory, AlertWebhookMemory.layerMemory)))
  return ChatWorker.layerWith(options.policy ?? testPolicy).pipe(
    Layer.provideMerge(Layer.mergeAll(BotService.layer, EffectRunner.layer)),
    Layer.provideMerge(ops),
    Layer.provideMerge(PipelineLayerWith(options.pacing ?? roomyPacing)),
    Layer.provideMerge(knowledgeLayer(options.embeddings ?? fakeEmbeddings)),
    Layer.provideMerge(infrastructure)
  )
}

/** A well-formed token for a Telegram bot id: `<id>:` and 35 url-safe characters. */
export const tokenFor = (telegramId: number): Redacted.Redacted<string> =>
  Redacted.make(`${telegramId}:${`AAH-${telegramId}_`.padEnd(35, "x")}`)

export interface TestBot {
  readonly bot: Bot
  readonly token: Redacted.Redacted<string>
}

/** Makes the bot known to the Telegram twin, registers it, enables it and runs the effects that causes. */
export const addBot = Effect.fn("harness.addBot")(function* (
  options: { readonly telegramId?: number; readonly username?: string } & Partial<BotInput> = {}
) {
  const { telegramId = 700_001, username = "helper_bot", ...input } = options
  const token = tokenFor(telegramId)
  const log = yield* TelegramGatewayMemory.TelegramMemoryLog
  yield* log.registerBot(token, { id: telegramId, username, firstName: username })
  const service = yield* BotService
  const registered = yield* service.register({ name: username, token, ...input })
  const bot = yield* service.enable(registered.id)
  yield* (yield* EffectRunner).runDue(100)
  return { bot, token } satisfies TestBot
})

// Telegram update payloads, shaped as the Bot API sends them.

export const CHAT_ID = 5_001
export const USER = { id: CHAT_ID, is_bot: false, first_name: "Ada", username: "ada", language_code: "en" }
const privateChat = (chatId: number) => ({ id: chatId, type: "private", first_name: "Ada" })

export const textUpdate = (updateId: number, text: string, chatId = CHAT_ID) => ({
  update_id: updateId,
  message: { message_id: updateId, date: 1_700_000_000, chat: privateChat(chatId), from: USER, text }
})

export const photoUpdate = (updateId: number, chatId = CHAT_ID) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_700_000_000,
    chat: privateChat(chatId),
    from: USER,
    photo: [{ file_id: "photo-1", file_unique_id: "u1", width: 90, height: 90, file_size: 1_000 }]
  }
})

export const callbackUpdate = (updateId: number, data: string, chatId = CHAT_ID) => ({
  update_id: updateId,
  callback_query: {
    id: `callback-${updateId}`,
    from: USER,
    chat_instance: "instance-1",
    data,
    message: { message_id: 1, date: 1_700_000_000, chat: privateChat(chatId), text: "pick one" }
  }
})

export const myChatMemberUpdate = (updateId: number, status: string, chatId = CHAT_ID) => ({
  update_id: updateId,
  my_chat_member: {
    chat: privateChat(chatId),
    from: USER,
    date: 1_700_000_000,
    old_chat_member: { status: "member", user: { id: 1, is_bot: true, first_name: "bot" } },
    new_chat_member: { status, user: { id: 1, is_bot: true, first_name: "bot" } }
  }
})

// Running updates.

/**
 * What the inbox does when it hands out an update (the memory twin: a new
 * version each time), so the pipeline reads the bot as it is now.
 */
const newerSettingsVersion = SettingsVersion.use((settings) =>
  Effect.flatMap(settings.current, (version) => settings.observe(version + 1))
)

/** A payload as the edge decodes it. */
export const incoming = (payload: unknown): IncomingUpdate => TelegramUpdates.readUpdate(payload).update

/** Runs the pipeline on one update, a second after the previous one. */
export const processUpdate = (bot: Bot, payload: unknown) =>
  Effect.andThen(
    Effect.andThen(TestClock.adjust("1 second"), newerSettingsVersion),
    HandleUpdate.use((handler) => handler.process(bot.id, incoming(payload)))
  )

/** Stores the update in the inbox, a second after the previous one; returns its chat key. */
export const receive = Effect.fn("harness.receive")(function* (bot: Bot, payload: { update_id: number }) {
  yield* TestClock.adjust("1 second")
  const chatKey = chatKeyOfUpdate(bot.id, incoming(payload))
  const inbox = yield* UpdateInbox
  yield* inbox.accept({ botId: bot.id, updateId: payload.update_id, chatKey, payload, traceparent: null })
  return chatKey
})

/**
 * The chat leased as the dispatcher leases it, with its due head update (none
 * due, or still leased: nothing to do). Each drain must have handed its lease
 * back, or the next one finds the chat taken.
 */
export const turnOf = (chatKey: string) =>
  Effect.gen(function* () {
    const inbox = yield* UpdateInbox
    const leased = yield* inbox.leaseChats("harness", 10_000, 60)
    for (const other of leased) {
      if (other.chatKey !== chatKey) yield* inbox.releaseLease(other.chatKey, "harness")
    }
    const mine = leased.find((chat) => chat.chatKey === chatKey)
    return mine === undefined ? Option.none() : Option.some({ chatKey, owner: "harness", head: mine.head })
  })

/** Works through the chat's inbox while holding its lease. */
export const drain = (chatKey: string) =>
  Effect.gen(function* () {
    const turn = yield* turnOf(chatKey)
    if (Option.isNone(turn)) return "idle" as const
    return yield* ChatWorker.use((worker) => worker.drain(turn.value, Effect.succeed(true)))
  })

/** Inbox, then ChatWorker: the path a webhook update takes. */
export const deliver = (bot: Bot, payload: { update_id: number }) =>
  Effect.flatMap(receive(bot, payload), drain)

// Looking at the outcome.

export const chatOf = Effect.fn("harness.chatOf")(function* (bot: Bot, telegramChatId = CHAT_ID) {
  const page = yield* (yield* ChatRepository).list({ botId: bot.id }, { limit: 200 })
  return Option.fromUndefinedOr(page.items.find((chat: Chat) => chat.telegramChatId === telegramChatId))
})

/** The chat's stored messages, oldest first; none when the chat does not exist. */
export const messagesOf = Effect.fn("harness.messagesOf")(function* (bot: Bot, telegramChatId = CHAT_ID) {
  const chat = yield* chatOf(bot, telegramChatId)
  if (Option.isNone(chat)) return [] as ReadonlyArray<Message>
  const page = yield* (yield* MessageRepository).listByChat(chat.value.id, { limit: 200 })
  return page.items.toReversed()
})

/** The effects waiting in the outbox (this claims them, so the runner skips them for a minute). */
export const claimEffects = Effect.map(
  EffectOutbox.use((outbox) => outbox.claimDue(200, 60)),
  (stored): ReadonlyArray<DomainEffect> => stored.map((row) => row.effect)
)

/**
 * Bot use cases: register, update, enable, disable, delete. The admin API is a
 * thin layer over these. State changes and their domain effects are stored in
 * one transaction; the effect runner talks to Telegram afterwards.
 */
import { randomBytes, randomUUID } from "node:crypto"
import {
  applyBotSettings,
  Bot,
  BotId,
  BotModel,
  type BotNameTaken,
  type BotNotFound,
  type BotSettingsPatch,
  type BotTokenInUse,
  botSettingsOf,
  type DomainEffect,
  InvalidBotToken,
  initialBotSettings,
  type McpServerId,
  type McpServerNotFound,
  type ProviderId,
  type ProviderNotFound,
  TelegramUnavailable,
  type Transition
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import { McpServerRepository } from "../ports/McpServers.ts"
import { ProviderRepository } from "../ports/Providers.ts"
import { BotRepository, EffectOutbox, Transactions } from "../ports/Repositories.ts"
import { SecretBox } from "../ports/SecretBox.ts"
import { Settings } from "../ports/Settings.ts"
import { TelegramGateway, type WebhookInfo } from "../ports/TelegramGateway.ts"
import { BotAccess } from "./BotAccess.ts"

/** A new bot: its name and token, and any settings (the rest take their initial values). */
export interface BotInput extends BotSettingsPatch {
  readonly name: string
  readonly token: Redacted.Redacted<string>
}

/** Fields to change; absent or undefined ones stay as they are. */
export type BotPatch = { readonly [K in keyof BotInput]?: BotInput[K] | undefined }

export class BotService extends Context.Service<
  BotService,
  {
    readonly register: (
      input: BotInput
    ) => Effect.Effect<
      Bot,
      | InvalidBotToken
      | TelegramUnavailable
      | BotNameTaken
      | BotTokenInUse
      | ProviderNotFound
      | McpServerNotFound
    >
    readonly update: (
      id: BotId,
      patch: BotPatch
    ) => Effect.Effect<
      Bot,
      | BotNotFound
      | InvalidBotToken
      | TelegramUnavailable
      | BotNameTaken
      | BotTokenInUse
      | ProviderNotFound
      | McpServerNotFound
    >
    readonly enable: (id: BotId) => Effect.Effect<Bot, BotNotFound>
    readonly disable: (id: BotId) => Effect.Effect<Bot, BotNotFound>
    /** A fatal failure (e.g. revoked token): the bot stops, keeps the error, admins are told. */
    readonly stop: (id: BotId, reason: string) => Effect.Effect<Bot, BotNotFound>
    /** Removes the webhook (best effort), then the bot with its chats and messages. */
    readonly remove: (id: BotId) => Effect.Effect<void, BotNotFound>
    readonly get: (id: BotId) => Effect.Effect<Bot, BotNotFound>
    /** Telegram's view of the bot's webhook; none when polling, or when Telegram does not answer in time. */
    readonly webhookInfo: (bot: Bot) => Effect.Effect<Option.Option<WebhookInfo>>
    readonly list: Effect.Effect<ReadonlyArray<Bot>>
    /** Blocks or unblocks one Telegram user of the bot (its blockedUserIds). */
    readonly setBlocked: (id: BotId, userId: number, blocked: boolean) => Effect.Effect<Bot, BotNotFound>
  }
>()("@botfleet/application/BotService") {
  static readonly layer = Layer.effect(
    BotService,
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const telegram = yield* TelegramGateway
      const secrets = yield* SecretBox
      const access = yield* BotAccess
      const outbox = yield* EffectOutbox
      const transactions = yield* Transactions
      const settings = yield* Settings
      const providers = yield* ProviderRepository
      const mcpServers = yield* McpServerRepository

      /** A bot may only point at a stored provider. */
      const checkProvider = (id: ProviderId | null | undefined) =>
        id === undefined || id === null ? Effect.void : Effect.asVoid(providers.findById(id))

      const checkMcpServers = (ids: ReadonlyArray<McpServerId> | undefined) =>
        ids === undefined ? Effect.void : Effect.forEach(ids, mcpServers.findById, { discard: true })

      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      /** Asks Telegram who the token belongs to; a refused token stores nothing. */
      const checkToken = Effect.fn("BotService.checkToken")(function* (token: Redacted.Redacted<string>) {
        if (!BotModel.isWellFormedToken(Redacted.value(token))) {
          return yield* new InvalidBotToken({
            reason: "expected the form <bot id>:<secret> that @BotFather gives"
          })
        }
        return yield* telegram.getMe(token).pipe(
          Effect.catchTag(
            "TelegramError",
            (error): Effect.Effect<never, InvalidBotToken | TelegramUnavailable> => {
              if (error.kind === "unauthorized" || error.kind === "not_found") {
                return Effect.fail(
                  new InvalidBotToken({ reason: "Telegram does not accept it (getMe: Unauthorized)" })
                )
              }
              if (error.kind === "bad_request") {
                return Effect.fail(
                  new InvalidBotToken({ reason: `Telegram refused it: ${error.description}` })
                )
              }
              // Telegram unreachable, 5xx or 429: the token may be fine; ask again later.
              return Effect.fail(
                new TelegramUnavailable({
                  reason: error.description,
                  retryAfterSeconds: Math.max(1, Math.ceil(error.retryAfterSeconds ?? 5))
                })
              )
            }
          )
        )
      })

      /** A transition of a stored bot: the new state and its effects, in one transaction. */
      const store = (transition: Transition<Bot>) =>
        transactions.withTransaction(
          Effect.gen(function* () {
            // Only the state changes here, not the name or token, so uniqueness cannot be violated.
            yield* bots
              .update(transition.state)
              .pipe(Effect.catchTag(["BotNameTaken", "BotTokenInUse"], Effect.die))
            yield* outbox.enqueue(transition.effects)
          })
        )

      const register = Effect.fn("BotService.register")(function* (input: BotInput) {
        yield* checkProvider(input.providerId)
        yield* checkMcpServers(input.mcpServerIds)
        const info = yield* checkToken(input.token)
        const at = yield* now
        const bot = new Bot({
          id: BotId.make(randomUUID()),
          name: input.name.trim(),
          tokenCiphertext: yield* secrets.encrypt(input.token),
          tokenHint: BotModel.tokenHint(Redacted.value(input.token)),
          telegramBotId: info.id,
          username: info.username,
          webhookSecret: randomBytes(24).toString("hex"),
          active: false,
          lastError: null,
          lastErrorAt: null,
          pollingOffset: 0,
          createdAt: at,
          updatedAt: at,
          ...applyBotSettings(initialBotSettings, input)
        })
        yield* bots.insert(bot)
        yield* Effect.logInfo("bot registered", { bot_id: bot.id, username: bot.username })
        return bot
      })

      const update = Effect.fn("BotService.update")(function* (id: BotId, patch: BotPatch) {
        const current = yield* bots.findById(id)
        yield* checkProvider(patch.providerId)
        yield* checkMcpServers(patch.mcpServerIds)
        const at = yield* now
        let next = new Bot({
          ...current,
          ...applyBotSettings(botSettingsOf(current), patch),
          name: patch.name?.trim() ?? current.name,
          updatedAt: at
        })
        const effects: Array<DomainEffect> = []
        if (patch.token !== undefined) {
          // Token rotation: the new token must be valid and belong to the same bot.
          const info = yield* checkToken(patch.token)
          if (info.id !== current.telegramBotId) {
            return yield* new InvalidBotToken({
              reason: `it belongs to @${info.username}, not to @${current.username}; register that bot separately`
            })
          }
          next = new Bot({
            ...next,
            tokenCiphertext: yield* secrets.encrypt(patch.token),
            tokenHint: BotModel.tokenHint(Redacted.value(patch.token)),
            username: info.username,
            webhookSecret: randomBytes(24).toString("hex")
          })
          // Re-register the webhook with the new token and secret.
          if (next.active)
            effects.push(...BotModel.enable(next, Option.getOrUndefined(settings.publicUrl), at).effects)
        }
        if (effects.length === 0) effects.push(...BotModel.menuEffects(current, next))
        yield* transactions.withTransaction(
          Effect.gen(function* () {
            yield* bots.update(next)
            yield* outbox.enqueue(effects)
          })
        )
        return next
      })

      const enable = Effect.fn("BotService.enable")(function* (id: BotId) {
        const bot = yield* bots.findById(id)
        const transition = BotModel.enable(bot, Option.getOrUndefined(settings.publicUrl), yield* now)
        yield* store(transition)
        yield* Effect.logInfo("bot enabled", { bot_id: id })
        return transition.state
      })

      const disable = Effect.fn("BotService.disable")(function* (id: BotId) {
        const bot = yield* bots.findById(id)
        const transition = BotModel.disable(bot, yield* now)
        yield* store(transition)
        yield* Effect.logInfo("bot disabled", { bot_id: id })
        return transition.state
      })

      const stop = Effect.fn("BotService.stop")(function* (id: BotId, reason: string) {
        const bot = yield* bots.findById(id)
        const transition = BotModel.markFailed(bot, reason, yield* now)
        yield* store(transition)
        yield* Effect.logError("bot stopped", { bot_id: id, reason })
        return transition.state
      })

      const remove = Effect.fn("BotService.remove")(function* (id: BotId) {
        const bot = yield* bots.findById(id)
        // The token goes with the row, so the webhook is removed now rather than by the outbox.
        yield* access.load(bot.id).pipe(
          Effect.flatMap((loaded) => telegram.deleteWebhook(loaded.token)),
          Effect.catch((error) =>
            Effect.logWarning("could not remove the webhook of a deleted bot", {
              bot_id: id,
              error: error.message
            })
          )
        )
        yield* bots.delete(id)
        yield* Effect.logInfo("bot deleted", { bot_id: id })
      })

      const webhookInfo = (bot: Bot) =>
        Option.isNone(settings.publicUrl)
          ? Effect.succeedNone
          : access.load(bot.id).pipe(
              Effect.flatMap(({ token }) => telegram.getWebhookInfo(token)),
              Effect.timeout("3 seconds"),
              Effect.option
            )

      const setBlocked = Effect.fn("BotService.setBlocked")(function* (
        id: BotId,
        userId: number,
        blocked: boolean
      ) {
        const current = yield* bots.findById(id)
        const others = current.blockedUserIds.filter((other) => other !== userId)
        const next = new Bot({
          ...current,
          blockedUserIds: blocked ? [...others, userId] : others,
          updatedAt: yield* now
        })
        yield* bots.update(next).pipe(Effect.catchTag(["BotNameTaken", "BotTokenInUse"], Effect.die))
        yield* Effect.logInfo(blocked ? "user blocked" : "user unblocked", { bot_id: id, user_id: userId })
        return next
      })

      return BotService.of({
        setBlocked,
        webhookInfo,
        register,
        update,
        enable,
        disable,
        stop,
        remove,
        get: bots.findById,
        list: bots.list
      })
    })
  )
}

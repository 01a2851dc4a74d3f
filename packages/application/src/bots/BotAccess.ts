/**
 * The one place a bot is loaded with its decrypted token. The pipeline, the
 * poller, the effect runner and the admin use cases all come here; nothing
 * else calls `SecretBox.decrypt` on a bot token.
 */
import { type Bot, type BotId, BotModel, type BotNotFound } from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"
import { spanFn } from "../observability/spanFn.ts"
import { BotUnavailable, RetryLater } from "../pipeline/PipelineErrors.ts"
import { BotRepository, EffectOutbox, Transactions } from "../ports/Repositories.ts"
import { SecretBox, type SecretUnreadable } from "../ports/SecretBox.ts"
import type { Token } from "../ports/TelegramGateway.ts"
import { SettingsVersion } from "../settings/SettingsVersion.ts"
import * as VersionedCache from "../settings/VersionedCache.ts"

/** Active bots kept with their decrypted token, per process; the least recently used go first. */
export const BOT_CACHE_SIZE = 10_000

export interface BotWithToken {
  readonly bot: Bot
  readonly token: Token
}

export class BotAccess extends Context.Service<
  BotAccess,
  {
    /** The bot as stored now and its token, whatever its state (admin calls, domain effects, polling). */
    readonly load: (botId: BotId) => Effect.Effect<BotWithToken, BotNotFound | SecretUnreadable>
    /**
     * A bot that may work on updates: reused until the settings version moves
     * (SettingsVersion), so an edit shows with the next update and an unchanged
     * bot costs no query. Deleted or disabled: BotUnavailable; a token that
     * cannot be decrypted stops the bot.
     */
    readonly loadActive: (botId: BotId) => Effect.Effect<BotWithToken, BotUnavailable | RetryLater>
    /** Like `loadActive`, read fresh and whatever the bot's state: a stored message still goes out. */
    readonly loadForDelivery: (botId: BotId) => Effect.Effect<BotWithToken, BotUnavailable | RetryLater>
    /**
     * A fatal failure with the token `used` had: the bot stops and admins are
     * told. Read fresh first: an admin may have put in a new token meanwhile,
     * in which case the work just runs again with it (RetryLater).
     */
    readonly stop: (
      used: Pick<Bot, "id" | "tokenCiphertext">,
      reason: string
    ) => Effect.Effect<never, BotUnavailable | RetryLater>
  }
>()("@botfleet/application/BotAccess") {
  static readonly layer = Layer.effect(
    BotAccess,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const bots = yield* BotRepository
      const secrets = yield* SecretBox
      const outbox = yield* EffectOutbox
      const transactions = yield* Transactions
      const settings = yield* SettingsVersion
      const cache = VersionedCache.make<BotId, BotWithToken>(BOT_CACHE_SIZE)

      const load = fn("BotAccess.load")(function* (botId: BotId) {
        const bot = yield* bots.findById(botId)
        return { bot, token: yield* secrets.decrypt(bot.tokenCiphertext) }
      })

      const deleted = () => Effect.fail(new BotUnavailable({ reason: "bot was deleted" }))

      const stop = fn("BotAccess.stop")(function* (
        used: Pick<Bot, "id" | "tokenCiphertext">,
        reason: string
      ) {
        cache.invalidate(used.id)
        const bot = yield* bots.findById(used.id).pipe(Effect.catchTag("BotNotFound", deleted))
        if (bot.tokenCiphertext !== used.tokenCiphertext) {
          return yield* new RetryLater({ reason: "the bot's token was replaced", retryAfterSeconds: null })
        }
        const transition = BotModel.markFailed(bot, reason, new Date(yield* Clock.currentTimeMillis))
        yield* transactions.withTransaction(
          Effect.gen(function* () {
            yield* bots.update(transition.state).pipe(Effect.orDie)
            yield* outbox.enqueue(transition.effects)
          })
        )
        yield* Effect.logError("bot stopped", { bot_id: bot.id, reason })
        return yield* new BotUnavailable({ reason })
      })

      const loadFresh = fn("BotAccess.loadFresh")(function* (botId: BotId, mustBeActive: boolean) {
        const bot = yield* bots.findById(botId).pipe(Effect.catchTag("BotNotFound", deleted))
        if (mustBeActive && !bot.active) return yield* new BotUnavailable({ reason: "bot is disabled" })
        const token = yield* secrets
          .decrypt(bot.tokenCiphertext)
          .pipe(Effect.catchTag("SecretUnreadable", (error) => stop(bot, error.message)))
        return { bot, token }
      })

      // The version is taken before the read: what is read is at least that new.
      const loadActive = fn("BotAccess.loadActive")(function* (botId: BotId) {
        return yield* cache.getEffect(botId, yield* settings.current, loadFresh(botId, true))
      })

      const loadForDelivery = (botId: BotId) => loadFresh(botId, false)

      return BotAccess.of({ load, loadActive, loadForDelivery, stop })
    })
  )
}

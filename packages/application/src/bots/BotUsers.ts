/**
 * The Telegram users of a bot as admins see them: their use today
 * and this month, and whether they are blocked. Blocking is BotService.setBlocked.
 */
import type { BotId, BotNotFound } from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"
import { BotRepository, type Page, type PageRequest } from "../ports/Repositories.ts"
import { type BotUserUsage, UsageLedger } from "../ports/UsageLedger.ts"

export interface BotUser extends BotUserUsage {
  readonly blocked: boolean
}

export class BotUsers extends Context.Service<
  BotUsers,
  {
    readonly list: (botId: BotId, page: PageRequest) => Effect.Effect<Page<BotUser>, BotNotFound>
  }
>()("@botfleet/application/BotUsers") {
  static readonly layer = Layer.effect(
    BotUsers,
    Effect.gen(function* () {
      const bots = yield* BotRepository
      const ledger = yield* UsageLedger

      const list = Effect.fn("BotUsers.list")(function* (botId: BotId, page: PageRequest) {
        const bot = yield* bots.findById(botId)
        const at = new Date(yield* Clock.currentTimeMillis)
        const users = yield* ledger.listUsers(botId, at, page)
        return {
          items: users.items.map((user) => ({
            ...user,
            blocked: bot.blockedUserIds.includes(user.telegramId)
          })),
          nextCursor: users.nextCursor
        }
      })

      return BotUsers.of({ list })
    })
  )
}

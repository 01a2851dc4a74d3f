/** The in-memory twin of BotRepositoryPg: the same uniqueness rules, order and cascade. */
import { BotRepository } from "@botfleet/application"
import { Bot, type BotId, BotNameTaken, BotNotFound, BotTokenInUse } from "@botfleet/domain"
import { Effect, Layer, Ref } from "effect"
import {
  compareIds,
  MemoryStore,
  layer as memoryStoreLayer,
  type Tables,
  withEntry
} from "../memory/MemoryStore.ts"

/** The unique indexes of `bots`, checked in the order Postgres checks them. */
const conflictOf = (
  tables: Tables,
  bot: Bot
): Effect.Effect<never, BotNameTaken | BotTokenInUse> | undefined => {
  const others = [...tables.bots.values()].filter((other) => other.id !== bot.id)
  if (others.some((other) => other.name.toLowerCase() === bot.name.toLowerCase())) {
    return Effect.fail(new BotNameTaken({ name: bot.name }))
  }
  if (others.some((other) => other.telegramBotId === bot.telegramBotId)) {
    return Effect.fail(new BotTokenInUse({ username: bot.username }))
  }
  return undefined
}

/** providers: bots.provider_id is a foreign key; breaking it is a defect, as in Postgres. */
const missingProvider = (tables: Tables, bot: Bot): Effect.Effect<never> | undefined =>
  bot.providerId !== null && !tables.providers.has(bot.providerId)
    ? Effect.die(new Error(`bot ${bot.id} points at provider ${bot.providerId}, which does not exist`))
    : undefined

const byName = (a: Bot, b: Bot): number => {
  const x = a.name.toLowerCase()
  const y = b.name.toLowerCase()
  return x < y ? -1 : x > y ? 1 : compareIds(a.id, b.id)
}

/** Needs the MemoryStore shared with the other repositories. */
export const layerNoDeps: Layer.Layer<BotRepository, never, MemoryStore> = Layer.effect(
  BotRepository,
  Effect.gen(function* () {
    const store = yield* MemoryStore

    // Each write decides atomically inside Ref.modify and hands back what to do next.
    const insert = Effect.fn("BotRepository.insert")(function* (bot: Bot) {
      return yield* yield* Ref.modify(
        store,
        (tables): [Effect.Effect<void, BotNameTaken | BotTokenInUse>, Tables] => {
          if (tables.bots.has(bot.id)) return [Effect.die(new Error(`duplicate bot id ${bot.id}`)), tables]
          const conflict = conflictOf(tables, bot) ?? missingProvider(tables, bot)
          return conflict
            ? [conflict, tables]
            : [Effect.void, { ...tables, bots: withEntry(tables.bots, bot.id, bot) }]
        }
      )
    })

    const update = Effect.fn("BotRepository.update")(function* (bot: Bot) {
      return yield* yield* Ref.modify(
        store,
        (tables): [Effect.Effect<void, BotNotFound | BotNameTaken | BotTokenInUse>, Tables] => {
          if (!tables.bots.has(bot.id)) return [Effect.fail(new BotNotFound({ botId: bot.id })), tables]
          const conflict = conflictOf(tables, bot) ?? missingProvider(tables, bot)
          return conflict
            ? [conflict, tables]
            : [Effect.void, { ...tables, bots: withEntry(tables.bots, bot.id, bot) }]
        }
      )
    })

    const findById = Effect.fn("BotRepository.findById")(function* (id: BotId) {
      const bot = (yield* Ref.get(store)).bots.get(id)
      if (bot === undefined) return yield* new BotNotFound({ botId: id })
      return bot
    })

    const list = Ref.get(store).pipe(
      Effect.map((tables): ReadonlyArray<Bot> => [...tables.bots.values()].sort(byName)),
      Effect.withSpan("BotRepository.list")
    )

    const listActive = Ref.get(store).pipe(
      Effect.map(
        (tables): ReadonlyArray<Bot> => [...tables.bots.values()].filter((bot) => bot.active).sort(byName)
      ),
      Effect.withSpan("BotRepository.listActive")
    )

    const listActiveTokens = Ref.get(store).pipe(
      Effect.map((tables) =>
        [...tables.bots.values()]
          .filter((bot) => bot.active)
          .map((bot) => ({ id: bot.id, tokenCiphertext: bot.tokenCiphertext }))
      ),
      Effect.withSpan("BotRepository.listActiveTokens")
    )

    // Every write to bots makes a new map (offsets too: a full read more for the poller, no harm).
    let versionOf: unknown
    let version = 0
    const changeVersion = Ref.get(store).pipe(
      Effect.map((tables) => {
        if (tables.bots !== versionOf) {
          versionOf = tables.bots
          version++
        }
        return version
      })
    )

    // ON DELETE CASCADE: the bot's chats, messages and tallies go with it.
    const remove = Effect.fn("BotRepository.delete")(function* (id: BotId) {
      return yield* yield* Ref.modify(store, (tables): [Effect.Effect<void, BotNotFound>, Tables] => {
        if (!tables.bots.has(id)) return [Effect.fail(new BotNotFound({ botId: id })), tables]
        const bots = new Map(tables.bots)
        bots.delete(id)
        const chats = new Map([...tables.chats].filter(([, chat]) => chat.botId !== id))
        const messages = new Map([...tables.messages].filter(([, message]) => message.botId !== id))
        const tallies = new Map([...tables.tallies].filter(([, tally]) => tally.botId !== id))
        return [Effect.void, { ...tables, bots, chats, messages, tallies }]
      })
    })

    const setPollingOffset = Effect.fn("BotRepository.setPollingOffset")(function* (
      id: BotId,
      offset: number
    ) {
      yield* Ref.update(store, (tables) => {
        const bot = tables.bots.get(id)
        if (bot === undefined) return tables
        return { ...tables, bots: withEntry(tables.bots, id, new Bot({ ...bot, pollingOffset: offset })) }
      })
    })

    return BotRepository.of({
      insert,
      update,
      findById,
      list,
      listActive,
      listActiveTokens,
      changeVersion,
      delete: remove,
      setPollingOffset
    })
  })
)

/** On its own tables; `layerMemory`s merged into one build share one MemoryStore (layers are memoised). */
export const layerMemory: Layer.Layer<BotRepository> = layerNoDeps.pipe(Layer.provide(memoryStoreLayer))

/**
 * StatsRepository on Postgres and on the in-memory twin: one scenario of two
 * bots over three days, every number worked out by hand, and the same numbers
 * after history retention purged half of it. Then, on Postgres
 * only, the plans of the stats queries on ~50k messages and the tallies of
 * ~50k purged ones: no sequential scan of `messages` or `message_tallies`.
 */

import {
  BotRepository,
  ChatRepository,
  type DailyStats,
  Maintenance,
  MessageRepository,
  type Stats,
  StatsRepository,
  type StatsRequest
} from "@botfleet/application"
import {
  Bot,
  BotId,
  Chat,
  type ChatId,
  Message,
  MessageId,
  type MessageStatus,
  TelegramUserId,
  TgUser
} from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Ref } from "effect"
import { SqlClient } from "effect/sql"
import * as MemoryStore from "../../src/memory/MemoryStore.ts"
import * as Database from "../../src/postgres/Database.ts"
import * as BotRepositoryMemory from "../../src/repositories/BotRepositoryMemory.ts"
import * as BotRepositoryPg from "../../src/repositories/BotRepositoryPg.ts"
import * as ChatRepositoryMemory from "../../src/repositories/ChatRepositoryMemory.ts"
import * as ChatRepositoryPg from "../../src/repositories/ChatRepositoryPg.ts"
import * as MessageRepositoryMemory from "../../src/repositories/MessageRepositoryMemory.ts"
import * as MessageRepositoryPg from "../../src/repositories/MessageRepositoryPg.ts"
import * as MaintenanceMemory from "../../src/scheduler/MaintenanceMemory.ts"
import * as MaintenancePg from "../../src/scheduler/MaintenancePg.ts"
import * as StatsRepositoryMemory from "../../src/statsRepository/StatsRepositoryMemory.ts"
import * as StatsRepositoryPg from "../../src/statsRepository/StatsRepositoryPg.ts"
import * as UpdateInboxMemory from "../../src/updateInbox/UpdateInboxMemory.ts"

/** Chats get their creation time from the store's clock; the scenario needs its own. */
class Backdate extends Context.Service<
  Backdate,
  { readonly chat: (id: ChatId, createdAt: Date) => Effect.Effect<void> }
>()("test/Backdate") {}

type Backend = BotRepository | ChatRepository | MessageRepository | StatsRepository | Maintenance | Backdate

const postgres: Layer.Layer<Backend | SqlClient.SqlClient> = Layer.mergeAll(
  BotRepositoryPg.layer,
  ChatRepositoryPg.layer,
  MessageRepositoryPg.layer,
  StatsRepositoryPg.layer,
  MaintenancePg.layer,
  Layer.effect(
    Backdate,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return Backdate.of({
        chat: (id, createdAt) =>
          Effect.orDie(sql`UPDATE chats SET created_at = ${createdAt} WHERE id = ${id}`).pipe(Effect.asVoid)
      })
    })
  )
).pipe(Layer.provideMerge(TestDatabase.layer(serverUrl(), Database.layerAt)))

const memory: Layer.Layer<Backend> = Layer.mergeAll(
  BotRepositoryMemory.layerNoDeps,
  ChatRepositoryMemory.layerNoDeps,
  MessageRepositoryMemory.layerNoDeps,
  StatsRepositoryMemory.layerNoDeps,
  MaintenanceMemory.layerNoDeps.pipe(Layer.provide(UpdateInboxMemory.storeLayer)),
  Layer.effect(
    Backdate,
    Effect.gen(function* () {
      const store = yield* MemoryStore.MemoryStore
      return Backdate.of({
        chat: (id, createdAt) =>
          Ref.update(store, (tables) => {
            const chat = tables.chats.get(id)
            if (chat === undefined) throw new Error(`no chat ${id}`)
            return {
              ...tables,
              chats: MemoryStore.withEntry(tables.chats, id, new Chat({ ...chat, createdAt }))
            }
          })
      })
    })
  )
).pipe(Layer.provide(MemoryStore.layer))

// ---------------------------------------------------------------- the scenario

/** A time in March 2025, UTC: `at("10T12:00")` is 2025-03-10T12:00:00Z. */
const at = (dayAndTime: string) => new Date(`2025-03-${dayAndTime}Z`)
const plus = (time: Date, ms: number) => new Date(time.getTime() + ms)

const FROM = at("10T12:00")
const TO = at("13T12:00")

const makeBot = (name: string, telegramBotId: number) =>
  new Bot({
    id: BotId.make(crypto.randomUUID()),
    name,
    tokenCiphertext: "v1:ciphertext",
    tokenHint: `${telegramBotId}:…abcd`,
    telegramBotId,
    username: `${name}_bot`,
    webhookSecret: "secret",
    model: null,
    systemPrompt: "",
    startMessage: "",
    helpMessage: "",
    errorMessage: "",
    historyLimit: 20,
    active: true,
    lastError: null,
    lastErrorAt: null,
    pollingOffset: 0,
    createdAt: at("01T00:00"),
    updatedAt: at("01T00:00")
  })

// Ids above 2^32, and u1's the highest, so neither order nor size comes for free.
const makeUser = (telegramId: number, firstName: string, username: string | null) =>
  new TgUser({
    telegramId: TelegramUserId.make(telegramId),
    firstName,
    lastName: null,
    username,
    languageCode: "en",
    isBot: false,
    firstSeenAt: at("01T00:00"),
    lastSeenAt: at("01T00:00")
  })

const u1 = makeUser(7_000_000_009, "Ada", "ada")
const u2 = makeUser(7_000_000_001, "Bob", null)
const u3 = makeUser(7_000_000_002, "Cy", "cy")

const makeMessage = (chat: Chat, fields: Partial<ConstructorParameters<typeof Message>[0]>) =>
  new Message({
    id: MessageId.make(crypto.randomUUID()),
    chatId: chat.id,
    botId: chat.botId,
    role: "user",
    text: "hi",
    thread: 1,
    tgUserId: null,
    updateId: null,
    replyTo: null,
    telegramMessageIds: [],
    chunksSent: 0,
    model: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    status: "received",
    error: null,
    createdAt: at("01T00:00"),
    sentAt: null,
    ...fields
  })

interface Reply {
  readonly status: MessageStatus
  /** From the user message to the reply's last chunk (sent replies only). */
  readonly latencyMs?: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

class Scenario extends Context.Service<
  Scenario,
  { readonly alpha: Bot; readonly beta: Bot; readonly gamma: Bot }
>()("test/Scenario") {}

/**
 * alpha: u1's chat (older than the window), u2's chat (opened at FROM) and a group;
 * beta: u1's and u3's chats (opened in the window), u2's (opened at TO);
 * gamma: u1's chat, all before the window. Nothing on 03-12.
 */
const seed = Effect.gen(function* () {
  const bots = yield* BotRepository
  const chats = yield* ChatRepository
  const messages = yield* MessageRepository
  const backdate = yield* Backdate

  const alpha = makeBot("alpha", 9_001)
  const beta = makeBot("beta", 9_002)
  const gamma = makeBot("gamma", 9_003)
  for (const bot of [alpha, beta, gamma]) yield* bots.insert(bot)
  for (const user of [u1, u2, u3]) yield* chats.upsertUser(user)

  const chat = Effect.fn(function* (bot: Bot, telegramChatId: number, user: TgUser | null, createdAt: Date) {
    const created = yield* chats.findOrCreate({
      botId: bot.id,
      telegramChatId,
      type: user === null ? "group" : "private",
      title: user === null ? "Team" : null,
      tgUserId: user?.telegramId ?? null
    })
    yield* backdate.chat(created.id, createdAt)
    return created
  })
  const private_ = (bot: Bot, user: TgUser, createdAt: Date) => chat(bot, user.telegramId, user, createdAt)

  /** A user message and, maybe, its reply: created 500 ms later, sent `latencyMs` after the question. */
  const turn = Effect.fn(function* (chat: Chat, user: TgUser, time: Date, reply?: Reply) {
    const question = yield* messages.insert(makeMessage(chat, { tgUserId: user.telegramId, createdAt: time }))
    if (reply === undefined) return
    yield* messages.insert(
      makeMessage(chat, {
        role: "assistant",
        text: "hello",
        replyTo: question.id,
        model: "m",
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        costUsd: reply.costUsd,
        status: reply.status,
        error: reply.status === "failed" ? "gave up" : null,
        createdAt: plus(time, 500),
        sentAt: reply.status === "sent" ? plus(time, reply.latencyMs ?? 0) : null
      })
    )
  })
  const sent = (latencyMs: number, inputTokens: number, outputTokens: number, costUsd: number): Reply => ({
    status: "sent",
    latencyMs,
    inputTokens,
    outputTokens,
    costUsd
  })
  const admin = (chat: Chat, time: Date, status: MessageStatus) =>
    messages.insert(makeMessage(chat, { role: "admin", text: "from the team", status, createdAt: time }))

  const alphaU1 = yield* private_(alpha, u1, at("09T00:00"))
  const alphaU2 = yield* private_(alpha, u2, FROM)
  const alphaGroup = yield* chat(alpha, -100_123, null, at("11T10:00"))
  const betaU1 = yield* private_(beta, u1, at("11T09:00"))
  const betaU3 = yield* private_(beta, u3, at("13T11:00"))
  const betaU2 = yield* private_(beta, u2, TO)
  const gammaU1 = yield* private_(gamma, u1, at("01T00:00"))

  // Outside the window: the morning of its first day, exactly its end, after it, long before.
  yield* turn(alphaU1, u1, at("10T08:00"), sent(700, 999, 999, 0.5))
  yield* turn(alphaU2, u2, TO)
  yield* turn(betaU2, u2, at("13T13:00"), sent(100, 1, 1, 0.1))
  yield* turn(gammaU1, u1, at("01T10:00"), sent(100, 1, 1, 0.1))

  // alpha: 5 in, 4 out, 2 errors.
  yield* turn(alphaU1, u1, FROM, sent(1000, 100, 50, 0.001))
  yield* turn(alphaU1, u1, at("10T15:00"), sent(2000, 200, 80, 0.002))
  yield* turn(alphaU2, u2, at("10T13:00:30"), {
    status: "failed",
    inputTokens: 50,
    outputTokens: 0,
    costUsd: 0.0005
  })
  yield* turn(alphaGroup, u1, at("11T10:05"), sent(4000, 300, 120, 0.003))
  yield* turn(alphaGroup, u3, at("11T10:06"), {
    status: "pending",
    inputTokens: 10,
    outputTokens: 5,
    costUsd: 0.0001
  })
  yield* admin(alphaU1, at("11T18:00"), "sent")
  yield* admin(alphaU1, at("11T19:00"), "failed")

  // beta: 4 in, 3 out, 1 error; the last reply is sent after the window ends.
  yield* turn(betaU1, u1, at("11T09:00:10"), sent(1500, 120, 60, 0.0012))
  yield* turn(betaU1, u1, at("11T09:05"), sent(3000, 80, 40, 0.0008))
  yield* turn(betaU1, u1, at("13T11:30"), { status: "failed", inputTokens: 0, outputTokens: 0, costUsd: 0 })
  yield* turn(betaU3, u3, at("13T11:59:58"), sent(6000, 60, 30, 0.0006))

  return Scenario.of({ alpha, beta, gamma })
})

const zeros = { messagesIn: 0, messagesOut: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, errors: 0 }
const day = (date: string, fields: Partial<DailyStats> = {}): DailyStats => ({
  date: `2025-03-${date}`,
  ...zeros,
  ...fields
})

const topUser = (user: TgUser, messages: number) => ({
  telegramId: user.telegramId as number,
  username: user.username,
  firstName: user.firstName,
  messages
})

/** Everything but the latency exactly; the latency (a float computation) to the millisecond. */
const assertStats = (
  actual: Stats,
  expected: Omit<Stats, "replyLatencyMs">,
  latency: { readonly p50: number | null; readonly p95: number | null }
) => {
  const { replyLatencyMs, ...rest } = actual
  assert.deepStrictEqual(rest, expected)
  for (const key of ["p50", "p95"] as const) {
    const got = replyLatencyMs[key]
    const want = latency[key]
    if (want === null) assert.strictEqual(got, null, key)
    else assert.approximately(got ?? Number.NaN, want, 1, key)
  }
}

const statsContract = (name: string, backend: Layer.Layer<Backend>) =>
  layer(Layer.effect(Scenario, seed).pipe(Layer.provideMerge(backend)))(`stats: ${name}`, (it) => {
    const compute = (request: Partial<StatsRequest> = {}) =>
      StatsRepository.use((stats) => stats.compute({ from: FROM, to: TO, botId: null, top: 10, ...request }))

    it.effect("the fleet over three days", () =>
      Effect.gen(function* () {
        const { alpha, beta } = yield* Scenario
        assertStats(
          yield* compute(),
          {
            messagesIn: 9,
            messagesOut: 7,
            activeUsers: 3,
            // u2 and u3; u1's first chat (gamma, alpha) is older.
            newUsers: 2,
            activeChats: 5,
            newChats: 4,
            inputTokens: 920,
            outputTokens: 385,
            costUsd: 0.0092,
            errors: 3,
            series: [
              day("10", {
                messagesIn: 3,
                messagesOut: 2,
                inputTokens: 350,
                outputTokens: 130,
                costUsd: 0.0035,
                errors: 1
              }),
              day("11", {
                messagesIn: 4,
                messagesOut: 4,
                inputTokens: 510,
                outputTokens: 225,
                costUsd: 0.0051,
                errors: 1
              }),
              day("12"),
              day("13", {
                messagesIn: 2,
                messagesOut: 1,
                inputTokens: 60,
                outputTokens: 30,
                costUsd: 0.0006,
                errors: 1
              })
            ],
            topUsers: [topUser(u1, 6), topUser(u3, 2), topUser(u2, 1)],
            topBots: [
              { botId: alpha.id, name: "alpha", messages: 9, costUsd: 0.0066 },
              { botId: beta.id, name: "beta", messages: 7, costUsd: 0.0026 }
            ]
          },
          // Latencies 1000, 1500, 2000, 3000, 4000, 6000.
          { p50: 2500, p95: 5500 }
        )
      })
    )

    it.effect("one bot: alpha", () =>
      Effect.gen(function* () {
        const { alpha } = yield* Scenario
        assertStats(
          yield* compute({ botId: alpha.id }),
          {
            messagesIn: 5,
            messagesOut: 4,
            activeUsers: 3,
            newUsers: 1,
            activeChats: 3,
            newChats: 2,
            inputTokens: 660,
            outputTokens: 255,
            costUsd: 0.0066,
            errors: 2,
            series: [
              day("10", {
                messagesIn: 3,
                messagesOut: 2,
                inputTokens: 350,
                outputTokens: 130,
                costUsd: 0.0035,
                errors: 1
              }),
              day("11", {
                messagesIn: 2,
                messagesOut: 2,
                inputTokens: 310,
                outputTokens: 125,
                costUsd: 0.0031,
                errors: 1
              }),
              day("12"),
              day("13")
            ],
            // u2 and u3 tie: the lower Telegram id first.
            topUsers: [topUser(u1, 3), topUser(u2, 1), topUser(u3, 1)],
            topBots: [{ botId: alpha.id, name: "alpha", messages: 9, costUsd: 0.0066 }]
          },
          // Latencies 1000, 2000, 4000.
          { p50: 2000, p95: 3800 }
        )
      })
    )

    it.effect("one bot: beta, where u1 is new though not new to the fleet", () =>
      Effect.gen(function* () {
        const { beta } = yield* Scenario
        assertStats(
          yield* compute({ botId: beta.id }),
          {
            messagesIn: 4,
            messagesOut: 3,
            activeUsers: 2,
            newUsers: 2,
            activeChats: 2,
            newChats: 2,
            inputTokens: 260,
            outputTokens: 130,
            costUsd: 0.0026,
            errors: 1,
            series: [
              day("10"),
              day("11", {
                messagesIn: 2,
                messagesOut: 2,
                inputTokens: 200,
                outputTokens: 100,
                costUsd: 0.002
              }),
              day("12"),
              day("13", {
                messagesIn: 2,
                messagesOut: 1,
                inputTokens: 60,
                outputTokens: 30,
                costUsd: 0.0006,
                errors: 1
              })
            ],
            topUsers: [topUser(u1, 3), topUser(u3, 1)],
            topBots: [{ botId: beta.id, name: "beta", messages: 7, costUsd: 0.0026 }]
          },
          // Latencies 1500, 3000, 6000.
          { p50: 3000, p95: 5700 }
        )
      })
    )

    it.effect("top lists keep the first N", () =>
      Effect.gen(function* () {
        const { alpha } = yield* Scenario
        const stats = yield* compute({ top: 1 })
        assert.deepStrictEqual(stats.topUsers, [topUser(u1, 6)])
        assert.deepStrictEqual(stats.topBots, [
          { botId: alpha.id, name: "alpha", messages: 9, costUsd: 0.0066 }
        ])
      })
    )

    it.effect("a quiet window is zeros, one day per day, no latency, empty top lists", () =>
      Effect.gen(function* () {
        const { gamma } = yield* Scenario
        assertStats(
          yield* compute({ from: at("12T00:00"), to: at("12T23:00") }),
          {
            ...zeros,
            activeUsers: 0,
            newUsers: 0,
            activeChats: 0,
            newChats: 0,
            series: [day("12")],
            topUsers: [],
            topBots: []
          },
          { p50: null, p95: null }
        )
        // A bot with no traffic in the window, over the whole window.
        const idle = yield* compute({ botId: gamma.id })
        assert.deepStrictEqual(
          idle.series.map((entry) => entry.date),
          ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13"]
        )
        assert.deepStrictEqual(idle.series, [day("10"), day("11"), day("12"), day("13")])
        assert.deepStrictEqual(idle.replyLatencyMs, { p50: null, p95: null })
      })
    )

    it.effect("a window ending at midnight has no entry for the day that begins then", () =>
      Effect.gen(function* () {
        const stats = yield* compute({ from: at("11T00:00"), to: at("12T00:00") })
        assert.deepStrictEqual(
          stats.series.map((entry) => entry.date),
          ["2025-03-11"]
        )
        assert.strictEqual(stats.messagesIn, 4)
        // beta's u1 chat and alpha's group.
        assert.strictEqual(stats.newChats, 2)
        assert.strictEqual(stats.newUsers, 0)
      })
    )

    // Last: it purges the scenario (every number must stay, so nothing after it could tell).
    it.effect("history retention: purging every bot's messages up to mid-window changes no number", () =>
      Effect.gen(function* () {
        const { alpha, beta, gamma } = yield* Scenario
        const maintenance = yield* Maintenance
        const requests: ReadonlyArray<Partial<StatsRequest>> = [
          {},
          { top: 1 },
          { from: at("11T00:00"), to: at("12T00:00") },
          { from: at("01T00:00"), to: at("20T00:00") },
          ...[alpha, beta, gamma].map((bot) => ({ botId: bot.id }))
        ]
        const before = yield* Effect.forEach(requests, compute)
        let purged = 0
        for (const bot of [alpha, beta, gamma]) {
          for (;;) {
            const count = yield* maintenance.purgeMessages(bot.id, at("11T12:00"), 3)
            purged += count
            if (count < 3) break
          }
        }
        assert.isAbove(purged, 10, "a good part of the scenario is now tallies")
        assert.deepStrictEqual(yield* Effect.forEach(requests, compute), before)
      })
    )
  })

statsContract("postgres", postgres)
statsContract("memory", memory)

// ---------------------------------------------------------------- query plans

const ORIGIN = new Date("2024-01-01T00:00:00Z")
const MESSAGES = 25_000 // user messages, each with a reply: 50k rows

/** A valid (version 4) UUID for bot `i`. */
const botUuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`

/** 5 bots, 2,000 users with a private chat each, a user message every 20 minutes for ~347 days. */
const seedVolume = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const botOf = (i: string) =>
    sql.literal(`('00000000-0000-4000-8000-' || lpad((${i})::text, 12, '0'))::uuid`)
  yield* sql`
    INSERT INTO bots (id, name, token_ciphertext, token_hint, telegram_bot_id, username, webhook_secret)
    SELECT ${botOf("i")}, 'bot-' || i, 'c', 'h', 1000 + i, 'bot' || i, 's'
    FROM generate_series(1, 5) i`
  yield* sql`
    INSERT INTO tg_users (telegram_id, first_name)
    SELECT 5000000000 + i, 'user ' || i FROM generate_series(1, 2000) i`
  yield* sql`
    INSERT INTO chats (id, bot_id, telegram_chat_id, type, tg_user_id, created_at)
    SELECT md5('chat' || i)::uuid, ${botOf("i % 5 + 1")}, 5000000000 + i, 'private', 5000000000 + i,
      ${ORIGIN}::timestamptz + i * interval '4 hours'
    FROM generate_series(1, 2000) i`
  yield* sql`
    INSERT INTO messages (id, chat_id, bot_id, role, text, thread, tg_user_id, status, created_at)
    SELECT md5('u' || i)::uuid, c.id, c.bot_id, 'user', 'hi', 1, c.tg_user_id, 'received',
      ${ORIGIN}::timestamptz + i * interval '20 minutes'
    FROM generate_series(1, ${MESSAGES}) i
    JOIN chats c ON c.telegram_chat_id = 5000000000 + i % 2000 + 1`
  // Every 50th reply failed.
  yield* sql`
    INSERT INTO messages (id, chat_id, bot_id, role, text, thread, reply_to, model, input_tokens,
      output_tokens, cost_usd, status, created_at, sent_at)
    SELECT md5('r' || id::text)::uuid, chat_id, bot_id, 'assistant', 'hello', 1, id, 'm', 100, 50, 0.001,
      CASE WHEN row_number() OVER (ORDER BY created_at) % 50 = 0 THEN 'failed' ELSE 'sent' END,
      created_at + interval '1 second', created_at + interval '3 seconds'
    FROM messages WHERE role = 'user'`
  // History retention: the year before was purged and lives on as as many tallies.
  yield* sql`
    INSERT INTO message_tallies (id, bot_id, chat_id, tg_user_id, role, status, input_tokens, output_tokens,
      cost_usd, created_at, latency_ms)
    SELECT md5('t' || id::text)::uuid, bot_id, chat_id, tg_user_id, role, status, input_tokens, output_tokens,
      cost_usd, created_at - interval '350 days', CASE WHEN role = 'user' THEN 3000 END
    FROM messages`
  yield* sql`ANALYZE`
}).pipe(Effect.orDie)

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly "Index Cond"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

layer(TestDatabase.layer(serverUrl(), Database.layerAt), { timeout: 120_000 })(
  "stats: query plans on ~50k messages",
  (it) => {
    it.effect(
      "no stats query scans all of messages or tallies, for a day, a week or a month, of the fleet or one bot",
      () =>
        Effect.gen(function* () {
          yield* seedVolume
          const sql = yield* SqlClient.SqlClient
          const counted = yield* Effect.orDie(
            sql<{ live: number; tallied: number }>`
              SELECT (SELECT count(*)::int FROM messages) AS live,
                (SELECT count(*)::int FROM message_tallies) AS tallied`
          )
          assert.deepStrictEqual(counted[0], { live: 2 * MESSAGES, tallied: 2 * MESSAGES })

          const now = new Date(ORIGIN.getTime() + MESSAGES * 20 * 60_000)
          const oneBot = BotId.make(botUuid(1))
          const scans: Array<string> = []
          let explained = 0
          for (const days of [1, 7, 30]) {
            for (const botId of [null, oneBot]) {
              const request: StatsRequest = {
                from: new Date(now.getTime() - days * 86_400_000),
                to: now,
                botId,
                top: 10
              }
              for (const [name, statement] of Object.entries(StatsRepositoryPg.statements(sql, request))) {
                const [text, params] = statement.compile()
                const rows = yield* Effect.orDie(
                  sql.unsafe<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, params)
                )
                const raw = rows[0]?.["QUERY PLAN"]
                const plan = (typeof raw === "string" ? JSON.parse(raw) : raw) as ReadonlyArray<{
                  Plan: PlanNode
                }>
                const nodes = nodesOf(plan[0]!.Plan)
                explained++
                // A scan of a whole index is a sequential scan by another name.
                for (const node of nodes) {
                  const seqScan =
                    node["Node Type"] === "Seq Scan" &&
                    ["messages", "message_tallies", "chats"].includes(node["Relation Name"] ?? "")
                  const wholeIndex =
                    /^(messages|message_tallies|chats)_/.test(node["Index Name"] ?? "") &&
                    node["Index Cond"] === undefined
                  if (seqScan || wholeIndex) {
                    scans.push(
                      `${name} (${days} days, ${botId === null ? "fleet" : "one bot"}): ${node["Node Type"]}`
                    )
                  }
                }
              }
            }
          }
          assert.strictEqual(explained, 3 * 2 * 6)
          assert.deepStrictEqual(scans, [])
        })
    )
  }
)

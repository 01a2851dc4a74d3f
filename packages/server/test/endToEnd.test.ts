/**
 * End to end: the server, the fakes, 50 chats x 5 messages. Every message is
 * answered exactly once, in order within each chat, and stored with tokens
 * and cost. Also reports throughput and webhook-to-send latency.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const CHATS = 50
const MESSAGES_PER_CHAT = 5

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

layer(serverLayer(), { timeout: 120_000, excludeTestServices: true })("end to end", (it) => {
  it.effect(
    `${CHATS} chats x ${MESSAGES_PER_CHAT} messages: each answered once, in order, with cost`,
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Fleet")
        const firstChat = 800_000
        const receivedAt = new Map<string, number>()
        const started = Date.now()

        // Each chat writes its messages one after another; chats write at the same time.
        yield* Effect.forEach(
          Array.from({ length: CHATS }, (_, index) => firstChat + index),
          (chatId) =>
            Effect.forEach(
              Array.from({ length: MESSAGES_PER_CHAT }, (_, index) => index + 1),
              (n) =>
                Effect.gen(function* () {
                  const text = `chat ${chatId} message ${n}`
                  receivedAt.set(text, Date.now())
                  const response = yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))
                  assert.strictEqual(response.status, 200)
                }),
              { discard: true }
            ),
          { concurrency: CHATS, discard: true }
        )

        const total = CHATS * MESSAGES_PER_CHAT
        const ingestSeconds = (Date.now() - started) / 1000
        yield* eventually(() => server.telegram.sent.length >= total, 60_000)
        const elapsedSeconds = (Date.now() - started) / 1000
        // Anything sent twice would show up shortly after the last expected send.
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 500)))
        assert.strictEqual(server.telegram.sent.length, total, "no reply sent twice")

        for (let index = 0; index < CHATS; index++) {
          const chatId = firstChat + index
          const texts = server.telegram.sentTo(chatId).map((message) => message.text)
          assert.deepStrictEqual(
            texts,
            Array.from({ length: MESSAGES_PER_CHAT }, (_, n) => `reply to: chat ${chatId} message ${n + 1}`),
            `chat ${chatId} answered in order`
          )
        }

        const [stored] = yield* server.sql<{ replies: number; users: number; priced: number }>`
        SELECT count(*) FILTER (WHERE role = 'assistant')::int AS replies,
               count(*) FILTER (WHERE role = 'user')::int AS users,
               count(*) FILTER (WHERE role = 'assistant' AND status = 'sent' AND input_tokens > 0
                                AND output_tokens > 0 AND cost_usd > 0 AND model IS NOT NULL)::int AS priced
        FROM messages WHERE bot_id = ${bot.id}`.pipe(Effect.orDie)
        assert.deepStrictEqual(stored, { replies: total, users: total, priced: total })

        const latencies = server.telegram.sent
          .map(
            (message) =>
              message.time - (receivedAt.get(message.text.replace(/^reply to: /, "")) ?? message.time)
          )
          .sort((a, b) => a - b)
        yield* Effect.logWarning("end-to-end", {
          replies: total,
          ingest_seconds: ingestSeconds,
          replies_per_second: Math.round(total / elapsedSeconds),
          p50_ms: percentile(latencies, 50),
          p99_ms: percentile(latencies, 99)
        })
      }),
    120_000
  )
})

/**
 * A 429 asking for more than a second does not hold a slot, on the real
 * server with one slot (PIPELINE_CONCURRENCY=1): the chat is handed back
 * until its retry-after, another bot's chat is answered meanwhile in the
 * slot it left, and then it is answered once, in order, without an attempt
 * counted. Before, the adapters slept through retry-afters of up to 20 s
 * (the model) and 30 s (Telegram) in the slot, and the other bot waited.
 */
import { FakeOpenAI, FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView, ProviderView } from "../../src/api/schemas.ts"
import { expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const RETRY_AFTER = 3
const LIMITED_KEY = "sk-limited-4b8d2f6a1c3e5a7b9d0f"

/** The stored update's attempts: a paced hand-back is not one. */
const attemptsOf = (server: TestServer["Service"], botId: string) =>
  Effect.map(
    server.sql<{ attempts: number }>`SELECT attempts FROM telegram_updates WHERE bot_id = ${botId}`,
    (rows) => rows.map((row) => row.attempts)
  ).pipe(Effect.orDie)

layer(serverLayer(withAdmin({ pipelineConcurrency: 1 })), { timeout: 90_000, excludeTestServices: true })(
  "429s that do not hold a slot",
  (it) => {
    it.effect(
      "Telegram refuses a reply's second part for 3 s: another bot is answered meanwhile, then the rest once",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const limited = yield* server.addBot("Refused")
          const other = yield* server.addBot("Meanwhile")
          const first = `first ${"word ".repeat(700)}`.trim()
          const second = `second ${"word ".repeat(700)}`.trim()
          yield* server.openai.setReply((request) =>
            request.messages.findLast((message) => message.role === "user")?.content === "long"
              ? `${first}\n\n${second}`
              : "short answer"
          )
          // The first part goes out, the second is refused.
          server.telegram.failNext("sendMessage", FakeTelegram.Fault.none)
          server.telegram.failNext("sendMessage", FakeTelegram.Fault.rateLimited(RETRY_AFTER))
          yield* postUpdate(server.baseUrl, limited.bot, textUpdate(971_001, "long"))
          const refusedAt = yield* eventually(() =>
            server.telegram.calls("sendMessage") >= 2 ? Date.now() : undefined
          )
          yield* postUpdate(server.baseUrl, other.bot, textUpdate(971_002, "quick"))

          const answered = yield* eventually(
            () => server.telegram.sentTo(971_002, other.bot.telegramBotId)[0]
          )
          yield* settled(server, limited.bot.id)
          const parts = server.telegram.sentTo(971_001, limited.bot.telegramBotId)
          assert.strictEqual(parts.length, 2, "each part once")
          assert.isTrue(parts[0]!.text.startsWith("first"))
          assert.isTrue(parts[1]!.text.startsWith("second"))
          assert.isBelow(answered.time, parts[1]!.time, "the other bot did not wait behind the refused part")
          assert.isBelow(answered.time - refusedAt, (RETRY_AFTER * 1000) / 2)
          assert.isAtLeast(parts[1]!.time - refusedAt, RETRY_AFTER * 1000 - 100, "the retry-after kept")
          assert.strictEqual(
            server.telegram.calls("sendMessage"),
            4,
            "part 1, part 2 refused, the other, part 2"
          )
          assert.deepStrictEqual(yield* attemptsOf(server, limited.bot.id), [1])
        })
    )

    it.effect(
      "the model key answers 429 for 3 s: another bot is answered meanwhile, then the chat once",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* TestServer
            const api = yield* loggedIn(server.baseUrl)
            const limitedServer = yield* FakeOpenAI.make({ apiKey: LIMITED_KEY, record: true })
            const provider = expectBody(
              yield* api.post("/api/providers", {
                name: "Limited",
                baseUrl: limitedServer.baseUrl.href,
                apiKey: LIMITED_KEY,
                defaultModel: "limited-model"
              }),
              201,
              ProviderView
            )
            const limited = yield* server.addBot("Limited key")
            expectBody(
              yield* api.patch(`/api/bots/${limited.bot.id}`, { providerId: provider.id }),
              200,
              BotView
            )
            const other = yield* server.addBot("Other key")
            yield* server.openai.setReply((request) => `reply to: ${request.messages.at(-1)?.content ?? ""}`)
            // As OpenAI answers a limit: retry-after and the key's x-ratelimit-* headers.
            yield* limitedServer.failNext({
              status: 429,
              retryAfter: RETRY_AFTER,
              headers: { "x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0" }
            })
            yield* postUpdate(server.baseUrl, limited.bot, textUpdate(972_001, "one"))
            yield* postUpdate(server.baseUrl, limited.bot, textUpdate(972_001, "two"))
            const refusedAt = yield* eventually(() =>
              Effect.runSync(limitedServer.requests).length >= 1 ? Date.now() : undefined
            )
            yield* postUpdate(server.baseUrl, other.bot, textUpdate(972_002, "quick"))

            const answered = yield* eventually(
              () => server.telegram.sentTo(972_002, other.bot.telegramBotId)[0]
            )
            yield* settled(server, limited.bot.id)
            const replies = server.telegram.sentTo(972_001, limited.bot.telegramBotId)
            assert.deepStrictEqual(
              replies.map((message) => message.text),
              ["reply to: one", "reply to: two"],
              "once each, in order"
            )
            assert.isBelow(
              answered.time,
              replies[0]!.time,
              "the other bot did not wait behind the limited key"
            )
            assert.isBelow(answered.time - refusedAt, (RETRY_AFTER * 1000) / 2)
            const asked = yield* limitedServer.requests
            assert.strictEqual(asked.length, 3, "the refused request, then one per message")
            assert.isAtLeast(
              asked[1]!.time - asked[0]!.time,
              RETRY_AFTER * 1000 - 100,
              "the retry-after kept"
            )
            assert.deepStrictEqual(yield* attemptsOf(server, limited.bot.id), [1, 1])
          })
        )
    )
  }
)

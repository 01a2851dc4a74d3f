/**
 * Settings apply at once, on the real server and PostgreSQL: the bot (and its
 * provider) a chat was just answered with is cached, an admin changes it, and
 * the very next message follows the change. With a cache that expired by time
 * (it held for 1 s) each of these answered the next message the old way.
 */
import { FakeOpenAI } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView, ProviderView } from "../src/api/schemas.ts"
import { expectBody, loggedIn, withAdmin } from "./support/apiClient.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const LOCAL_KEY = "sk-local-7c1e9a3b5d2f4e6a8b0c"

/** The texts a chat got, in order. */
const textsTo = (server: TestServer["Service"], chatId: number) =>
  server.telegram.sentTo(chatId).map((message) => message.text)

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 60_000, excludeTestServices: true })(
  "settings apply at once (one process)",
  (it) => {
    it.effect("access opened: the message right after the PATCH is answered, not refused", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Opened")
        const closed = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, { access: "allowlist", allowedUserIds: [1] }),
          200,
          BotView
        )
        const user = 951_001
        yield* postUpdate(server.baseUrl, bot, textUpdate(user, "let me in"))
        yield* settled(server, bot.id)
        assert.deepStrictEqual(textsTo(server, user), [closed.deniedMessage])

        expectBody(yield* api.patch(`/api/bots/${bot.id}`, { access: "open" }), 200, BotView)
        yield* postUpdate(server.baseUrl, bot, textUpdate(user, "and now?"))
        yield* settled(server, bot.id)
        assert.deepStrictEqual(textsTo(server, user), [closed.deniedMessage, "reply to: and now?"])
      })
    )

    it.effect("provider switched: the message right after the PATCH goes to the new provider", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const local = yield* FakeOpenAI.make({ apiKey: LOCAL_KEY, record: true })
          const provider = expectBody(
            yield* api.post("/api/providers", {
              name: "Switched To",
              baseUrl: local.baseUrl.href,
              apiKey: LOCAL_KEY,
              defaultModel: "llama-local"
            }),
            201,
            ProviderView
          )
          const { bot } = yield* server.addBot("Switching")
          const user = 952_001
          yield* postUpdate(server.baseUrl, bot, textUpdate(user, "first"))
          yield* settled(server, bot.id)
          const askedDefault = (yield* server.openai.requests).length
          assert.strictEqual((yield* local.requests).length, 0)

          expectBody(yield* api.patch(`/api/bots/${bot.id}`, { providerId: provider.id }), 200, BotView)
          yield* postUpdate(server.baseUrl, bot, textUpdate(user, "second"))
          yield* settled(server, bot.id)
          const askedLocal = yield* local.requests
          assert.strictEqual(askedLocal.length, 1, "the new provider answered")
          assert.strictEqual(askedLocal[0]!.model, "llama-local")
          assert.strictEqual(
            (yield* server.openai.requests).length,
            askedDefault,
            "the old one was not asked"
          )
          assert.strictEqual(textsTo(server, user).length, 2)

          // And back, with the provider edited in between: each edit is seen by the next message.
          expectBody(
            yield* api.patch(`/api/providers/${provider.id}`, { defaultModel: "llama-other" }),
            200,
            ProviderView
          )
          yield* postUpdate(server.baseUrl, bot, textUpdate(user, "third"))
          yield* settled(server, bot.id)
          assert.strictEqual((yield* local.requests)[1]?.model, "llama-other")
        })
      )
    )

    it.effect("user blocked: the message right after the block gets the refusal, no model call", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Blocking")
        const user = 953_001
        yield* postUpdate(server.baseUrl, bot, textUpdate(user, "hello"))
        yield* settled(server, bot.id)
        assert.deepStrictEqual(textsTo(server, user), ["reply to: hello"])
        const asked = (yield* server.openai.requests).length

        const blocked = expectBody(yield* api.post(`/api/bots/${bot.id}/users/${user}/block`), 200, BotView)
        yield* postUpdate(server.baseUrl, bot, textUpdate(user, "still here"))
        yield* settled(server, bot.id)
        assert.deepStrictEqual(textsTo(server, user), ["reply to: hello", blocked.deniedMessage])
        assert.strictEqual((yield* server.openai.requests).length, asked, "the model was not asked")
      })
    )
  }
)

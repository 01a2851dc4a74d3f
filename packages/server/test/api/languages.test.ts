/**
 * Every user's language on the real server with the wire-level fakes: the
 * command menu per language_code when a bot is enabled, the bot's language
 * and texts through the admin API, and a /start answered in Spanish.
 */
import { catalogue, Languages } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  TestServer,
  telegramBot
} from "../support/inProcessServer.ts"

let nextUpdateId = 1
const from = (chatId: number, languageCode: string, text: string) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Ana" },
      from: { id: chatId, is_bot: false, first_name: "Ana", language_code: languageCode },
      text
    }
  }
}

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("languages", (it) => {
  it.effect("enabling a bot sets its menu for any language and once per catalogue language", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { token } = telegramBot(server.telegram, "Polyglot")
      const bot = expectBody(yield* api.post("/api/bots", { name: "Polyglot", token }), 201, BotView)
      assert.strictEqual(bot.language, "en")
      assert.deepStrictEqual(bot.texts, {})
      const enabledAt = Date.now()
      expectBody(yield* api.post(`/api/bots/${bot.id}/enable`), 200, BotView)
      yield* eventually(() =>
        Languages.every((language) => server.telegram.commandsOf(token, language) !== null)
      )
      const menusSetMs = Date.now() - enabledAt

      const any = server.telegram.commandsOf(token)
      assert.deepStrictEqual(
        any?.map((entry) => entry.description),
        any?.map((entry) => catalogue.en[`command.${entry.command as "start"}`])
      )
      const spanish = server.telegram.commandsOf(token, "es") ?? []
      assert.deepStrictEqual(
        spanish.map((entry) => entry.command),
        any?.map((entry) => entry.command)
      )
      assert.strictEqual(
        spanish.find((entry) => entry.command === "help")?.description,
        catalogue.es["command.help"]
      )
      assert.strictEqual(server.telegram.calls("setMyCommands"), 1 + Languages.length)
      // Reported by the test run: how long the 13 menus take after the enable answers.
      yield* Effect.log(`menus for ${1 + Languages.length} languages set ${menusSetMs} ms after enable`)
    })
  )

  it.effect(
    "the bot's language and texts through the API; a /start from an es user answered in Spanish",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Hola")
        const chatId = 940_001
        yield* postUpdate(server.baseUrl, bot, from(chatId, "es", "/start"))
        const first = yield* eventually(() => server.telegram.sentTo(chatId)[0])
        assert.strictEqual(first.text, catalogue.es.start)

        const refused = yield* api.patch(`/api/bots/${bot.id}`, { texts: { es: { limit: "Sin {reset}" } } })
        assert.include(
          expectError(refused, 400, "invalid_request"),
          "body.texts.es.limit: expected the same {placeholders}"
        )
        const unknown = yield* api.patch(`/api/bots/${bot.id}`, { language: "xx" })
        assert.include(expectError(unknown, 400, "invalid_request"), "body.language")

        const updated = expectBody(
          yield* api.patch(`/api/bots/${bot.id}`, {
            language: "de",
            texts: { es: { start: "¡Hola desde Acme!" } }
          }),
          200,
          BotView
        )
        assert.strictEqual(updated.language, "de")
        assert.deepStrictEqual(updated.texts, { es: { start: "¡Hola desde Acme!" } })
        yield* postUpdate(server.baseUrl, bot, from(chatId, "es", "/start"))
        yield* postUpdate(server.baseUrl, bot, from(chatId + 1, "xx", "/start"))
        const second = yield* eventually(() => server.telegram.sentTo(chatId)[1])
        assert.strictEqual(second.text, "¡Hola desde Acme!")
        const fallback = yield* eventually(() => server.telegram.sentTo(chatId + 1)[0])
        assert.strictEqual(fallback.text, catalogue.de.start)
      })
  )
})

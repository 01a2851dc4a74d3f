/**
 * Every user's language on the in-memory twins: the texts the bot sends on
 * its own follow the sender's Telegram language_code, fall back to the bot's
 * language, give way to the admin's wording, and the model is told.
 */
import { LanguageModelMemory, TelegramGatewayMemory } from "@botfleet/adapters"
import { BotService, EffectRunner } from "@botfleet/application"
import { type Bot, catalogue, Languages } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { addBot, harness, processUpdate } from "../harness.ts"

const { TelegramMemoryLog } = TelegramGatewayMemory
const { LanguageModelMemoryControl } = LanguageModelMemory

/** A text message from Telegram user `userId` whose app speaks `languageCode`. */
const from = (
  updateId: number,
  userId: number,
  languageCode: string | undefined,
  text: string,
  chat: { readonly id: number; readonly type: string } = { id: userId, type: "private" }
) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_700_000_000,
    chat: { ...chat, title: "Team" },
    from: {
      id: userId,
      is_bot: false,
      first_name: `user${userId}`,
      ...(languageCode === undefined ? {} : { language_code: languageCode })
    },
    text
  }
})

const sentTo = (chatId: number) =>
  TelegramMemoryLog.use((log) =>
    Effect.map(log.sentMessages, (sent) => sent.filter((m) => m.chatId === chatId).map((m) => m.text))
  )

let updateId = 0
const send = (bot: Bot, userId: number, languageCode: string | undefined, text: string) =>
  processUpdate(bot, from(++updateId, userId, languageCode, text))

describe("texts in the sender's language", () => {
  it.effect("an es user gets Spanish start, help, refusal, limit and /usage; an en user English", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      yield* send(bot, 101, "es", "/start")
      yield* send(bot, 101, "es", "/help")
      yield* send(bot, 102, "en", "/start")
      assert.deepStrictEqual(yield* sentTo(101), [catalogue.es.start, catalogue.es.help])
      assert.deepStrictEqual(yield* sentTo(102), [catalogue.en.start])

      const limited = yield* (yield* BotService).update(bot.id, { limits: { userMessagesPerDay: 1 } })
      yield* send(limited, 103, "es-MX", "uno")
      yield* send(limited, 103, "es-MX", "dos")
      yield* send(limited, 103, "es-MX", "/usage")
      const [answer, limit, usage] = yield* sentTo(103)
      assert.strictEqual(answer, "echo: uno")
      // TestClock starts at 1970-01-01; the day resets at midnight UTC.
      assert.strictEqual(
        limit,
        "Has alcanzado el límite de mensajes por día. Se restablece el 1970-01-02 00:00 UTC."
      )
      assert.include(usage, "Tu uso:")
      assert.include(usage, "Mensajes hoy: 1 de 1 (se restablece el 1970-01-02 00:00 UTC)")

      const private_ = yield* (yield* BotService).update(bot.id, { access: "allowlist", allowedUserIds: [1] })
      yield* send(private_, 104, "es", "hola")
      assert.deepStrictEqual(yield* sentTo(104), [catalogue.es.denied])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("an unknown code (xx) or none gets the bot's language", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const german = yield* (yield* BotService).update(bot.id, { language: "de" })
      yield* send(german, 201, "xx", "/start")
      yield* send(german, 202, undefined, "/refresh")
      yield* send(german, 203, "fr", "/start")
      assert.deepStrictEqual(yield* sentTo(201), [catalogue.de.start])
      assert.deepStrictEqual(yield* sentTo(202), [catalogue.de.newThread])
      assert.deepStrictEqual(yield* sentTo(203), [catalogue.fr.start])
    }).pipe(Effect.provide(harness()))
  )

  it.effect("in a group, each sender is answered in their own language", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const group = { id: -100_500, type: "supergroup" }
      yield* processUpdate(bot, from(++updateId, 301, "ru", "/help@helper_bot", group))
      yield* processUpdate(bot, from(++updateId, 302, "zh-hans", "/help@helper_bot", group))
      assert.deepStrictEqual(yield* sentTo(-100_500), [catalogue.ru.help, catalogue.zh.help])
    }).pipe(Effect.provide(harness()))
  )
})

describe("failures", () => {
  it.effect("a reply the model cannot give: the error message in the sender's language", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ errorMessage: "Oops, try again later." })
      yield* LanguageModelMemoryControl.use((control) => control.failNext("auth", 2))
      yield* send(bot, 601, "uk", "привіт")
      yield* send(bot, 602, "en", "hello")
      assert.deepStrictEqual(yield* sentTo(601), [catalogue.uk.error])
      assert.deepStrictEqual(yield* sentTo(602), ["Oops, try again later."])
    }).pipe(Effect.provide(harness()))
  )
})

describe("the admin's wording", () => {
  it.effect("an override for es wins for es users; the bot's own start stays for its language", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot()
      const custom = yield* (yield* BotService).update(bot.id, {
        startMessage: "Welcome to Acme!",
        texts: { es: { start: "¡Bienvenido a Acme!" } }
      })
      yield* send(custom, 401, "es", "/start")
      yield* send(custom, 402, "en", "/start")
      yield* send(custom, 403, "xx", "/start")
      yield* send(custom, 404, "pt-br", "/start")
      assert.deepStrictEqual(yield* sentTo(401), ["¡Bienvenido a Acme!"])
      assert.deepStrictEqual(yield* sentTo(402), ["Welcome to Acme!"])
      assert.deepStrictEqual(yield* sentTo(403), ["Welcome to Acme!"])
      assert.deepStrictEqual(yield* sentTo(404), [catalogue.pt.start])
    }).pipe(Effect.provide(harness()))
  )
})

describe("the model is told", () => {
  it.effect("the request for an es user carries the language line; one in the bot's language none", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ systemPrompt: "Be brief." })
      yield* send(bot, 501, "es", "hola")
      yield* send(bot, 502, "en", "hello")
      const [spanish, english] = yield* LanguageModelMemoryControl.use((control) => control.requests)
      assert.deepStrictEqual(spanish!.messages.slice(0, 2), [
        { role: "system", content: "Be brief." },
        {
          role: "system",
          content: "The user's language is Spanish (es); answer in it unless they write in another."
        }
      ])
      assert.deepStrictEqual(english!.messages, [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello" }
      ])
    }).pipe(Effect.provide(harness()))
  )
})

describe("the command menu", () => {
  it.effect("is set for any language and once per catalogue language; again when the texts change", () =>
    Effect.gen(function* () {
      const { bot } = yield* addBot({ telegramId: 700_002 })
      const log = yield* TelegramMemoryLog
      const menus = yield* log.languageMenus
      assert.deepStrictEqual(
        [...menus.keys()].sort(),
        Languages.map((language) => `700002:${language}`).sort()
      )
      assert.strictEqual(menus.get("700002:es")?.[0], catalogue.es["command.start"])
      assert.deepStrictEqual((yield* log.commandMenus).get(700_002), [
        "start",
        "help",
        "new",
        "retry",
        "mode",
        "memory",
        "usage"
      ])

      yield* (yield* BotService).update(bot.id, { texts: { es: { "command.help": "Ayuda de Acme" } } })
      yield* (yield* EffectRunner).runDue(100)
      assert.strictEqual((yield* log.languageMenus).get("700002:es")?.[1], "Ayuda de Acme")
    }).pipe(Effect.provide(harness()))
  )
})

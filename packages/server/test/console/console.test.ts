/**
 * The admin console in a real browser (headless Chromium) against the real
 * server with the fake Telegram and OpenAI: what an operator does, step by
 * step, checked on the page and in the API. Screenshots go to test-results/console.
 */
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AlertSettingsView, BotView, JobsView, StatsView } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, type Page, recordTiming, screenshot, watchProblems } from "../support/browser.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"

const step = <A>(run: () => Promise<A>) => Effect.promise(run)

/** The test server, an admin API client, and a fresh browser page whose script errors are collected. */
const openConsole = Effect.gen(function* () {
  const server = yield* TestServer
  const api = yield* loggedIn(server.baseUrl)
  const browser = yield* browserContext
  const page = yield* step(() => browser.newPage())
  return { server, api, page, problems: watchProblems(page) }
})

/** A user writes to the bot through its webhook, the way Telegram delivers it. */
const userWrites = (
  server: TestServer["Service"],
  botId: string,
  token: string,
  chatId: number,
  text: string
) =>
  Effect.gen(function* () {
    const secret = yield* eventually(() => server.telegram.webhookOf(token)?.secretToken ?? undefined)
    const response = yield* step(() =>
      fetch(`${server.baseUrl}/telegram/webhook/${botId}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
        body: JSON.stringify(textUpdate(chatId, text))
      })
    )
    assert.strictEqual(response.status, 200)
  })

let nextUpdateId = 900_000
/** A private message from a named person: text, or a voice note (`voice` is Telegram's file and length). */
const privateUpdate = (
  chatId: number,
  firstName: string,
  content:
    | { readonly text: string }
    | { readonly voice: { readonly fileId: string; readonly seconds: number } }
) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: firstName },
      from: { id: chatId, is_bot: false, first_name: firstName },
      ...("text" in content
        ? { text: content.text }
        : {
            voice: {
              file_id: content.voice.fileId,
              file_unique_id: `u-${content.voice.fileId}`,
              duration: content.voice.seconds,
              mime_type: "audio/ogg"
            }
          })
    }
  }
}

const signIn = (page: Page, baseUrl: string) =>
  step(async () => {
    await page.goto(`${baseUrl}/admin/sign-in`)
    await page.getByLabel("Email").fill(ADMIN.email)
    await page.getByLabel("Password").fill(ADMIN.password)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
  })

/** Follows a link of the main navigation (pages have other links with the same names). */
const nav = (page: Page, name: string) => page.getByRole("navigation").getByRole("link", { name }).click()

const sentTexts = (server: TestServer["Service"], chatId: number) =>
  server.telegram.sentTo(chatId).map((sent) => sent.text)

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })("admin console", (it) => {
  it.effect(
    "sign in, add and enable a bot, watch a chat live, answer as the bot, retry a failure, read stats",
    () =>
      Effect.gen(function* () {
        const { server, api, page, problems } = yield* openConsole
        const { token } = telegramBot(server.telegram, "Support")
        const user = 4242

        // Sign in: a wrong password shows the API's error, the right one opens the fleet.
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin`)
          await page.waitForURL(/\/admin\/sign-in$/)
        })
        yield* screenshot(page, "sign-in")
        yield* step(async () => {
          await page.getByLabel("Email").fill(ADMIN.email)
          await page.getByLabel("Password").fill("not the password")
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.getByRole("alert").filter({ hasText: "Invalid credentials" }).waitFor()
          await page.getByLabel("Password").fill(ADMIN.password)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.getByRole("heading", { name: "No bots yet" }).waitFor()
        })
        yield* screenshot(page, "fleet-empty")

        // A fresh load of the console, signed in, is ready well within a second.
        const loadMs = yield* step(async () => {
          const started = Date.now()
          await page.goto(`${server.baseUrl}/admin`)
          await page.getByRole("heading", { name: "No bots yet" }).waitFor()
          return Date.now() - started
        })
        assert.isBelow(loadMs, 1000, `the fleet page took ${loadMs} ms`)
        yield* recordTiming("fleet page, signed in, until its heading shows (ms)", loadMs)

        // Add a bot: it starts disabled; enable it in place.
        yield* step(async () => {
          await page.getByRole("link", { name: "Add your first bot" }).click()
          await page.getByLabel("Name").fill("Support")
          await page.getByLabel("Token").fill(token)
          await page.getByLabel("System prompt").fill("You are the support assistant of Example Shop.")
        })
        yield* screenshot(page, "new-bot")
        const botId = yield* step(async () => {
          await page.getByRole("button", { name: "Add bot" }).click()
          await page.waitForURL(/\/admin\/bots\/[0-9a-f-]{36}$/)
          await page.getByRole("heading", { name: "Support", level: 1 }).waitFor()
          return page.url().split("/").at(-1)!
        })
        const created = expectBody(yield* api.get(`/api/bots/${botId}`), 200, BotView)
        assert.strictEqual(created.active, false)
        assert.strictEqual(created.systemPrompt, "You are the support assistant of Example Shop.")
        yield* step(async () => {
          await page.getByRole("button", { name: "Enable" }).click()
          await page.locator(".page-header .badge", { hasText: "Active" }).waitFor()
          // Telegram's webhook, registered by the effect runner a moment later, shows without a reload.
          await page
            .locator("code", { hasText: `/telegram/webhook/${page.url().split("/").at(-1)}` })
            .waitFor()
        })
        assert.isTrue(expectBody(yield* api.get(`/api/bots/${botId}`), 200, BotView).active)
        yield* screenshot(page, "bot")

        // A user writes; the chat is listed and its transcript shows the reply.
        yield* userWrites(server, botId, token, user, "Where is my parcel?")
        yield* step(async () => {
          await nav(page, "Chats")
          await page.getByRole("link", { name: /Ann/ }).waitFor()
        })
        yield* screenshot(page, "chats")
        yield* step(async () => {
          await page.getByRole("link", { name: /Ann/ }).click()
          await page.locator(".message-assistant", { hasText: "reply to: Where is my parcel?" }).waitFor()
        })

        // While the page is open, the next message and its reply appear by themselves.
        yield* userWrites(server, botId, token, user, "And when will it arrive?")
        yield* step(() =>
          page
            .locator(".message-assistant", { hasText: "reply to: And when will it arrive?" })
            .waitFor({ timeout: 5000 })
        )

        // Answer as the bot: the user gets it in Telegram; the page shows it sent.
        yield* step(async () => {
          await page.getByLabel("Answer as Support").fill("Hi Ann, a human here. It left this morning.")
          await page.getByRole("button", { name: "Send" }).click()
          await page.locator(".message-admin.status-sent", { hasText: "a human here" }).waitFor()
        })
        yield* eventually(() =>
          sentTexts(server, user).includes("Hi Ann, a human here. It left this morning.")
        )
        yield* screenshot(page, "chat")

        // The model refuses (a bad API key): the failure shows in the chat and on the failures page.
        yield* server.openai.failNext({ status: 401, model: created.effectiveModel })
        yield* userWrites(server, botId, token, user, "Are you there?")
        yield* step(() => page.locator(".message.status-failed").waitFor({ timeout: 5000 }))
        yield* step(async () => {
          await nav(page, "Failures")
          await page.locator(".failure", { hasText: "401" }).waitFor()
        })
        yield* screenshot(page, "failures")
        yield* step(async () => {
          await page.getByRole("button", { name: /^Retry/ }).click()
          await page.getByRole("heading", { name: "No failures" }).waitFor()
        })
        yield* eventually(() => sentTexts(server, user).includes("reply to: Are you there?"))

        // Stats: the three messages, a chart per series, and another period.
        const stats = expectBody(yield* api.get(`/api/stats?period=day`), 200, StatsView)
        assert.strictEqual(stats.messagesIn, 3)
        yield* step(async () => {
          await nav(page, "Stats")
          const messagesIn = page.locator(".tile", { hasText: "Messages in" }).locator(".tile-value")
          await messagesIn.filter({ hasText: /^3$/ }).waitFor()
          await page.locator(".chart svg rect.bar:not([height='0'])").first().waitFor()
          await page.getByRole("link", { name: /Ann/ }).waitFor()
        })
        yield* screenshot(page, "stats")
        yield* step(async () => {
          await page.getByRole("button", { name: "7 days" }).click()
          await page.waitForURL(/period=week/)
          await page.getByRole("button", { name: "7 days", pressed: true }).waitFor()
          await page.locator(".chart svg rect.bar:not([height='0'])").first().waitFor()
        })
        const bars = yield* step(() => page.locator(".chart").first().locator("rect.bar").count())
        assert.strictEqual(bars, 8 * 3, "a week touches 8 UTC days, three bars each")

        // The fleet: today's numbers per bot, and disabling in place.
        const botStats = expectBody(yield* api.get(`/api/stats?period=day&botId=${botId}`), 200, StatsView)
        yield* step(async () => {
          await nav(page, "Bots")
          const row = page.locator("tr", { hasText: "Support" })
          await row.locator("td[data-label=Replies]", { hasText: String(botStats.messagesOut) }).waitFor()
        })
        yield* screenshot(page, "fleet")
        yield* step(async () => {
          await page.getByRole("button", { name: "Disable Support" }).click()
          await page
            .locator("tr", { hasText: "Support" })
            .locator(".badge", { hasText: "Disabled" })
            .waitFor()
        })
        assert.isFalse(expectBody(yield* api.get(`/api/bots/${botId}`), 200, BotView).active)

        assert.deepStrictEqual(problems, [], "no script errors and no CSP violations")
      }).pipe(Effect.scoped),
    120_000
  )

  it.effect(
    "edit a bot's settings, see a clear error that changes nothing, rotate its token, delete it",
    () =>
      Effect.gen(function* () {
        const { server, api, page, problems } = yield* openConsole
        const telegram = telegramBot(server.telegram, "Editable")
        const bot = expectBody(
          yield* api.post("/api/bots", { name: "Editable", token: telegram.token }),
          201,
          BotView
        )
        expectBody(
          yield* api.post("/api/bots", { name: "Taken", token: telegramBot(server.telegram, "Taken").token }),
          201,
          BotView
        )

        yield* signIn(page, server.baseUrl)
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
          await page.getByLabel("System prompt").fill("Answer in French.")
          await page.getByLabel("History").fill("35")
          await page.getByLabel("Model", { exact: true }).fill("gpt-4o")
          await page.getByRole("button", { name: "Save changes" }).click()
          await page.getByText("Saved", { exact: true }).waitFor()
        })
        const saved = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(saved.systemPrompt, "Answer in French.")
        assert.strictEqual(saved.historyLimit, 35)
        assert.strictEqual(saved.model, "gpt-4o")
        assert.strictEqual(saved.name, "Editable", "untouched fields stay")

        // Clearing the model goes back to the server's default.
        yield* step(async () => {
          await page.getByLabel("Model", { exact: true }).fill("")
          await page.getByRole("button", { name: "Save changes" }).click()
        })
        yield* eventuallyEffect(
          Effect.map(
            api.get(`/api/bots/${bot.id}`),
            (response) => expectBody(response, 200, BotView).model === null
          )
        )

        // A name another bot has: the API's message and code are shown; nothing changes.
        const notice = yield* step(async () => {
          await page.getByLabel("Name").fill("taken")
          await page.getByRole("button", { name: "Save changes" }).click()
          const alert = page.locator("form .notice-error")
          await alert.waitFor()
          // The field the error is about is marked and focused: that is where the fix goes.
          const name = page.getByLabel("Name")
          assert.strictEqual(await name.getAttribute("aria-invalid"), "true")
          assert.isTrue(await name.evaluate((element) => element === element.ownerDocument.activeElement))
          return (await alert.textContent()) ?? ""
        })
        yield* screenshot(page, "bot-error")
        assert.include(notice, 'A bot named "taken" already exists')
        assert.include(notice, "name_taken")
        const intact = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(intact.name, "Editable")
        assert.strictEqual(intact.systemPrompt, "Answer in French.")

        // Rotate the token: a new one for the same Telegram bot.
        // Same Telegram bot (the number before the colon), another secret part and so another hint.
        const newToken = `${telegram.telegramId}:AAH${"r".repeat(30)}Zq9w`
        assert.isFalse(bot.tokenHint.endsWith("Zq9w"))
        server.telegram.registerBot(newToken, {
          id: telegram.telegramId,
          username: telegram.username,
          firstName: "Editable"
        })
        yield* step(async () => {
          await page.reload()
          await page.getByLabel("New token").fill(newToken)
          await page.getByRole("button", { name: "Rotate token" }).click()
          await page.getByText("Token rotated").waitFor()
          await page.locator("code", { hasText: `…${newToken.slice(-4)}` }).waitFor()
        })
        assert.isTrue(
          expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).tokenHint.endsWith(
            newToken.slice(-4)
          )
        )
        yield* screenshot(page, "bot-settings")

        // Delete: the confirm button waits for the bot's name.
        yield* step(async () => {
          await page.getByRole("button", { name: "Delete bot…" }).click()
          const confirm = page.getByRole("button", { name: "Delete for good" })
          assert.isTrue(await confirm.isDisabled())
          await page.getByLabel("Type Editable to confirm").fill("Editable")
        })
        yield* screenshot(page, "delete-dialog", { fullPage: false })
        yield* step(async () => {
          await page.getByRole("button", { name: "Delete for good" }).click()
          await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
        })
        expectError(yield* api.get(`/api/bots/${bot.id}`), 404, "bot_not_found")

        // Sign out ends the session on the server: the console asks to sign in again.
        yield* step(async () => {
          await page.getByRole("button", { name: "Sign out" }).click()
          await page.waitForURL(/\/admin\/sign-in$/)
          await page.goto(`${server.baseUrl}/admin/stats`)
          await page.waitForURL(/\/admin\/sign-in\?next=%2Fadmin%2Fstats$/)
          await page.getByLabel("Email").fill(ADMIN.email)
          await page.getByLabel("Password").fill(ADMIN.password)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.getByRole("heading", { name: "Stats", level: 1 }).waitFor()
        })
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    90_000
  )

  it.effect(
    "access, limits and conversation settings through the form; a malformed id list is refused in place",
    () =>
      Effect.gen(function* () {
        const { server, api, page, problems } = yield* openConsole
        const bot = expectBody(
          yield* api.post("/api/bots", {
            name: "Guarded",
            token: telegramBot(server.telegram, "Guarded").token,
            limits: { userTokensPerDay: 5000 }
          }),
          201,
          BotView
        )
        yield* signIn(page, server.baseUrl)
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
          await page.getByRole("group", { name: "Access and limits" }).waitFor()
          // What is stored shows: the one limit set, the others empty ("No limit").
          assert.strictEqual(await page.getByLabel("Tokens per user per day").inputValue(), "5000")
          assert.strictEqual(await page.getByLabel("Messages per user per day").inputValue(), "")
          await page.getByLabel("Who may talk to the bot").selectOption("allowlist")
          await page.getByLabel("Allowed users").fill("111111111, 222222222 333333333")
          await page.getByLabel("Allowed groups").fill("-1001234567890")
          await page.getByLabel("Messages per user per day").fill("3")
          await page.getByLabel("Spend per user per month (USD)").fill("0.5")
          await page.getByLabel("Tokens per user per day").fill("")
          await page.getByLabel("In groups").selectOption("all")
          await page.getByLabel("Understand voice messages").uncheck()
          await page.getByRole("button", { name: "Save changes" }).click()
          await page.getByText("Saved", { exact: true }).waitFor()
        })
        yield* screenshot(page, "bot-access", {
          element: page.getByRole("group", { name: "Access and limits" })
        })
        const saved = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.strictEqual(saved.access, "allowlist")
        assert.deepStrictEqual(saved.allowedUserIds, [111111111, 222222222, 333333333])
        assert.deepStrictEqual(saved.allowedChatIds, [-1001234567890])
        assert.deepStrictEqual(saved.limits, {
          userMessagesPerMinute: null,
          userMessagesPerDay: 3,
          userTokensPerDay: null,
          userUsdPerMonth: 0.5,
          botUsdPerMonth: null
        })
        assert.strictEqual(saved.groupMode, "all")
        assert.isFalse(saved.voice)
        assert.isTrue(saved.vision, "untouched switches stay")
        assert.strictEqual(saved.name, "Guarded")

        // Letters in an id list: the browser says what it wants and nothing is sent.
        const invalid = yield* step(async () => {
          await page.getByLabel("Blocked users").fill("111111111, @ann")
          await page.getByRole("button", { name: "Save changes" }).click()
          return page
            .getByLabel("Blocked users")
            .evaluate((element) => (element as unknown as { validity: { valid: boolean } }).validity.valid)
        })
        assert.isFalse(invalid)
        const intact = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.deepStrictEqual(intact.blockedUserIds, [])
        assert.deepStrictEqual(intact.limits, saved.limits)
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "a bot's users: their use, block and unblock in place; a voice message is tagged in the transcript",
    () =>
      Effect.gen(function* () {
        const { server, api, page, problems } = yield* openConsole
        const { bot } = yield* server.addBot("Crowd")
        const bob = 7_001
        const cleo = 7_002
        server.telegram.addFile("bob-voice", new TextEncoder().encode("is the shop open on Sunday"))
        for (const update of [
          privateUpdate(bob, "Bob", { text: "Hello" }),
          privateUpdate(bob, "Bob", { voice: { fileId: "bob-voice", seconds: 12 } }),
          privateUpdate(cleo, "Cleo", { text: "Hi there" })
        ]) {
          assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
          yield* settled(server, bot.id)
        }

        yield* signIn(page, server.baseUrl)
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/bots/${bot.id}`)
          await page.getByRole("link", { name: "Users" }).click()
          await page.getByRole("heading", { name: "Users", level: 1 }).waitFor()
          const bobRow = page.locator(`tr[data-telegram-id="${bob}"]`)
          await bobRow.locator("td[data-label=Today]", { hasText: /^2 msg/ }).waitFor()
          await page
            .locator(`tr[data-telegram-id="${cleo}"]`)
            .locator("td[data-label=Today]", { hasText: /^1 msg/ })
            .waitFor()
          await bobRow.getByRole("button", { name: "Block Bob" }).click()
          await bobRow.locator(".badge", { hasText: "Blocked" }).waitFor()
        })
        yield* screenshot(page, "users")
        const blocked = expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView)
        assert.deepStrictEqual(blocked.blockedUserIds, [bob])

        // Blocked for real: Bob's next message gets the refusal, not an answer.
        yield* postUpdate(server.baseUrl, bot, privateUpdate(bob, "Bob", { text: "Still there?" }))
        yield* settled(server, bot.id)
        assert.strictEqual(sentTexts(server, bob).at(-1), blocked.deniedMessage)

        yield* step(async () => {
          // The refused message is counted: today / this month.
          await page.reload()
          const bobRow = page.locator(`tr[data-telegram-id="${bob}"]`)
          await bobRow.locator("td[data-label=Refused]", { hasText: "1 / 1" }).waitFor()
          await bobRow.getByRole("button", { name: "Unblock Bob" }).click()
          await bobRow.locator(".badge", { hasText: "Allowed" }).waitFor()
        })
        assert.deepStrictEqual(
          expectBody(yield* api.get(`/api/bots/${bot.id}`), 200, BotView).blockedUserIds,
          []
        )

        // Bob's chat: the voice note shows as "voice 0:12" with its transcript, the reply under it.
        yield* step(async () => {
          await page.locator(`tr[data-telegram-id="${bob}"]`).getByRole("link", { name: "Bob" }).click()
          await page.getByRole("link", { name: /Bob/ }).first().click()
          const voice = page.locator(".message-user", { hasText: "is the shop open on Sunday" })
          await voice.locator(".kind-tag", { hasText: "voice 0:12" }).waitFor()
          await page
            .locator(".message-assistant", { hasText: "reply to: is the shop open on Sunday" })
            .waitFor()
          assert.strictEqual(
            await page.locator(".message-user", { hasText: "Hello" }).locator(".kind-tag").count(),
            0
          )
        })
        yield* screenshot(page, "chat-voice")

        // In a group, each message says who wrote it (the bot answers only when mentioned).
        const groupUpdate = {
          update_id: nextUpdateId,
          message: {
            message_id: nextUpdateId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: -100_555, type: "supergroup", title: "Team room" },
            from: { id: 7_003, is_bot: false, first_name: "Dana" },
            text: "Lunch at noon?"
          }
        }
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, groupUpdate)).status, 200)
        yield* settled(server, bot.id)
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/chats?botId=${bot.id}`)
          await page.getByRole("link", { name: /Team room/ }).click()
          await page
            .locator(".message-user", { hasText: "Lunch at noon?" })
            .locator(".message-author", { hasText: "Dana" })
            .waitFor()
        })
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "failures of every kind retried from the page; scheduled jobs; alert settings saved, a bad URL refused",
    () =>
      Effect.gen(function* () {
        const { server, api, page, problems } = yield* openConsole

        // An effect: Telegram refuses setWebhook until the effect gives up (retries pulled forward).
        server.telegram.failNext("setWebhook", FakeTelegram.Fault.serverError(502), 1000)
        const { bot, token } = yield* server.addBot("Ops")
        yield* eventuallyEffect(
          Effect.gen(function* () {
            yield* server.sql`
              UPDATE domain_effects SET next_attempt_at = now()
              WHERE status = 'pending' AND kind = 'TelegramSetWebhook' AND payload ->> 'botId' = ${bot.id}`
            const rows = yield* server.sql<{ status: string }>`
              SELECT status FROM domain_effects WHERE kind = 'TelegramSetWebhook' AND payload ->> 'botId' = ${bot.id}`
            return rows[0]?.status === "failed"
          }).pipe(Effect.orDie),
          60_000
        )
        server.telegram.reset()
        // An update the pipeline gave up on after its retries (as the chat worker leaves it).
        const parked = textUpdate(5601, "are you there?")
        yield* server.sql`
          INSERT INTO telegram_updates (bot_id, update_id, chat_key, payload, status, attempts, last_error, processed_at)
          VALUES (${bot.id}, ${parked.update_id}, ${`${bot.id}:5601`}, ${JSON.stringify(parked)}::jsonb,
                  'failed', 6, 'LLM unavailable: 503', now())`.pipe(Effect.orDie)
        // A message: the model refuses the key.
        yield* server.openai.failNext({ status: 401, model: bot.model ?? "gpt-4o-mini" })
        yield* postUpdate(server.baseUrl, bot, privateUpdate(5602, "Dana", { text: "Hello?" }))
        yield* settled(server, bot.id)

        yield* signIn(page, server.baseUrl)
        yield* step(async () => {
          await nav(page, "Failures")
          await page.locator(".failure[data-kind=effect]", { hasText: "502" }).waitFor()
          await page.locator(".failure[data-kind=update]", { hasText: "LLM unavailable: 503" }).waitFor()
          await page.locator(".failure[data-kind=message]", { hasText: "401" }).waitFor()
          await page.locator(".failure[data-kind=effect] .badge", { hasText: "Telegram call" }).waitFor()
        })
        yield* screenshot(page, "failures-every-kind")
        yield* step(async () => {
          await page.getByLabel("Kind").selectOption("update")
          await page.waitForURL(/kind=update/)
          await page.locator(".failure[data-kind=update]").waitFor()
          assert.strictEqual(await page.locator(".failure").count(), 1)
          await page.getByLabel("Kind").selectOption("")
          await page.locator(".failure[data-kind=effect]").waitFor()
          for (const kind of ["effect", "update", "message"]) {
            await page
              .locator(`.failure[data-kind=${kind}]`)
              .getByRole("button", { name: /^Retry/ })
              .click()
            await page.locator(`.failure[data-kind=${kind}]`).waitFor({ state: "detached" })
          }
          await page.getByRole("heading", { name: "No failures" }).waitFor()
        })
        // Each retry did what it says: the webhook is set, both users are answered.
        yield* eventually(() => server.telegram.webhookOf(token)?.url.endsWith(`/telegram/webhook/${bot.id}`))
        yield* eventually(() => sentTexts(server, 5601).includes("reply to: are you there?"))
        yield* eventually(() => sentTexts(server, 5602).includes("reply to: Hello?"))

        // Jobs: every job the API lists, with its last run; a failed run shows why.
        const jobs = yield* eventuallyEffect(
          Effect.map(api.get("/api/jobs"), (response) => {
            const body = expectBody(response, 200, JobsView)
            return body.items.every((job) => job.lastRun?.outcome === "ok") ? body : undefined
          }),
          30_000
        )
        yield* server.sql`
          UPDATE job_runs SET outcome = 'failed', detail = 'alert webhook answered 500'
          WHERE job = 'digest'`.pipe(Effect.orDie)
        yield* step(async () => {
          await nav(page, "Jobs")
          await page.getByRole("heading", { name: "Jobs", level: 1 }).waitFor()
          for (const job of jobs.items) {
            const row = page.locator(`tr[data-job="${job.name}"]`)
            await row.waitFor()
            if (job.name !== "digest") await row.locator(".badge", { hasText: "OK" }).waitFor()
            await row.locator("td[data-label=Duration]", { hasText: /\d+ ms|\d+\.\d s/ }).waitFor()
          }
          const digest = page.locator('tr[data-job="digest"]')
          await digest.locator(".badge", { hasText: "Failed" }).waitFor()
          await digest.getByText("alert webhook answered 500").waitFor()
          await digest.getByText("daily").waitFor()
        })
        yield* screenshot(page, "jobs")

        // Alerts: a webhook, a bot and its chats, a cooldown; the URL's secret path is never shown back.
        yield* step(async () => {
          await nav(page, "Alerts")
          await page.getByLabel("Webhook URL").fill("https://hooks.example.com/services/T000/B000/secret")
          await page.getByLabel("Bot that sends alerts").selectOption(bot.id)
          await page.getByLabel("Chat ids").fill("123456789, -1001234")
          await page.getByLabel("Cooldown (minutes)").fill("45")
          await page.getByRole("button", { name: "Save" }).click()
          await page.getByText("Saved", { exact: true }).waitFor()
          await page.getByText("Alerts go to https://hooks.example.com/…").waitFor()
        })
        yield* screenshot(page, "alerts")
        const saved = expectBody(yield* api.get("/api/settings/alerts"), 200, AlertSettingsView)
        assert.deepStrictEqual(saved, {
          webhookUrl: "https://hooks.example.com/…",
          telegramBotId: bot.id,
          telegramChatIds: [123456789, -1001234],
          cooldownMinutes: 45
        })
        const shown = yield* step(async () => ({
          text: (await page.locator("body").textContent()) ?? "",
          input: await page.getByLabel("Webhook URL").inputValue()
        }))
        assert.notInclude(shown.text, "B000", "the webhook's secret path is not on the page")
        assert.strictEqual(shown.input, "", "nor left in the field")

        // A URL the API refuses: its message is shown, nothing changes.
        const notice = yield* step(async () => {
          await page.getByLabel("Webhook URL").fill("ftp://files.example.com/alerts")
          await page.getByLabel("Cooldown (minutes)").fill("60")
          await page.getByRole("button", { name: "Save" }).click()
          const alert = page.locator("form .notice-error")
          await alert.waitFor()
          return (await alert.textContent()) ?? ""
        })
        assert.include(notice, "invalid_request")
        assert.include(notice, "webhookUrl")
        assert.deepStrictEqual(
          expectBody(yield* api.get("/api/settings/alerts"), 200, AlertSettingsView),
          saved
        )

        // Removing the webhook leaves the Telegram settings as they are.
        yield* step(async () => {
          await page.reload()
          await page.getByLabel("Remove the webhook").check()
          await page.getByRole("button", { name: "Save" }).click()
          await page.getByText("No webhook yet", { exact: false }).waitFor()
        })
        assert.deepStrictEqual(expectBody(yield* api.get("/api/settings/alerts"), 200, AlertSettingsView), {
          ...saved,
          webhookUrl: null
        })
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    120_000
  )

  it.effect(
    "on a server without the jobs and alerts routes, those pages are hidden and older failures still retry",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const browser = yield* browserContext
        const page = yield* step(() => browser.newPage())
        const problems = watchProblems(page)
        const { bot } = yield* server.addBot("Older")
        yield* server.openai.failNext({ status: 401, model: bot.model ?? "gpt-4o-mini" })
        yield* postUpdate(server.baseUrl, bot, privateUpdate(5701, "Eve", { text: "Anyone?" }))
        yield* settled(server, bot.id)
        // The server as it was before the operations routes: no such paths, and failures are the messages themselves.
        yield* step(async () => {
          await page.route("**/openapi.json", (route) =>
            route.fulfill({ json: { openapi: "3.1.0", paths: { "/api/failures": {} } } })
          )
          await page.route("**/api/failures?*", async (route) => {
            const response = await route.fetch()
            const body = (await response.json()) as {
              items: Array<{ message: unknown }>
              nextCursor: unknown
            }
            await route.fulfill({
              json: {
                items: body.items.map((item) => item.message).filter(Boolean),
                nextCursor: body.nextCursor
              }
            })
          })
        })
        yield* signIn(page, server.baseUrl)
        const links = yield* step(() => page.getByRole("navigation").getByRole("link").allTextContents())
        assert.deepStrictEqual(links, ["Bots", "Chats", "Failures", "Stats"])
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/jobs`)
          await page.waitForURL(/\/admin$/)
          await page.goto(`${server.baseUrl}/admin/failures`)
          await page.locator(".failure", { hasText: "401" }).waitFor()
          assert.strictEqual(await page.getByLabel("Kind").count(), 0, "no kind filter without kinds")
          await page.getByRole("button", { name: /^Retry/ }).click()
          await page.getByRole("heading", { name: "No failures" }).waitFor()
        })
        yield* eventually(() => sentTexts(server, 5701).includes("reply to: Anyone?"))
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "with the keyboard alone: sign in, reach a bot's switch, enable it; Escape cancels a delete",
    () =>
      Effect.gen(function* () {
        const { server, api, page, problems } = yield* openConsole
        const created = expectBody(
          yield* api.post("/api/bots", { name: "Keys", token: telegramBot(server.telegram, "Keys").token }),
          201,
          BotView
        )
        /** Presses Tab until the focused element's accessible text matches, as a keyboard user would. */
        const tabTo = async (pattern: RegExp) => {
          // The bot form (43 fields) comes before the side cards: 40 presses no longer reached them.
          for (let presses = 0; presses < 80; presses++) {
            await page.keyboard.press("Tab")
            const focused = String(
              await page.evaluate(
                "(document.activeElement.getAttribute('aria-label') || document.activeElement.textContent || '').trim()"
              )
            )
            if (pattern.test(focused)) return
          }
          throw new Error(`no focusable element matching ${pattern}`)
        }
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/sign-in`)
          // As a person would: start typing once the cursor is in the email field (it gets focus on load).
          await page.waitForFunction("document.activeElement?.getAttribute('type') === 'email'")
          await page.keyboard.type(ADMIN.email)
          await page.keyboard.press("Tab")
          await page.keyboard.type(ADMIN.password)
          await page.keyboard.press("Enter")
          await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
          await tabTo(/^Enable Keys$/)
          await page.keyboard.press("Enter")
          await page.locator("tr", { hasText: "Keys" }).locator(".badge", { hasText: "Active" }).waitFor()
        })
        assert.isTrue(expectBody(yield* api.get(`/api/bots/${created.id}`), 200, BotView).active)
        yield* step(async () => {
          // Focus stayed on the row's switch; one step back is the bot's name, a link to its page.
          await page.keyboard.press("Shift+Tab")
          await page.keyboard.press("Enter")
          await page.getByRole("heading", { name: "Keys", level: 1 }).waitFor()
          await tabTo(/^Delete bot…$/)
          await page.keyboard.press("Enter")
          await page.getByRole("dialog").waitFor()
          await page.keyboard.press("Escape")
          await page.getByRole("dialog").waitFor({ state: "detached" })
        })
        expectBody(yield* api.get(`/api/bots/${created.id}`), 200, BotView)
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    60_000
  )

  it.effect(
    "at 375 px every page fits the width",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const browser = yield* browserContext
        const page = yield* step(() => browser.newPage())
        const problems = watchProblems(page)
        const { bot, token } = yield* server.addBot("Narrow")
        yield* userWrites(server, bot.id, token, 5151, "Hello from a phone")
        yield* eventually(() => sentTexts(server, 5151).includes("reply to: Hello from a phone"))
        yield* step(() => page.setViewportSize({ width: 375, height: 812 }))
        yield* signIn(page, server.baseUrl)
        const chatId = yield* step(async () => {
          const response = await page.request.get(`${server.baseUrl}/api/chats?botId=${bot.id}`)
          return ((await response.json()) as { items: Array<{ id: string }> }).items[0]!.id
        })
        const pages = [
          ["mobile-fleet", "/admin", "Bots"],
          ["mobile-bot", `/admin/bots/${bot.id}`, "Narrow"],
          ["mobile-users", `/admin/bots/${bot.id}/users`, "Users"],
          ["mobile-chats", "/admin/chats", "Chats"],
          ["mobile-chat", `/admin/chats/${chatId}`, "Ann"],
          ["mobile-failures", "/admin/failures", "Failures"],
          ["mobile-stats", "/admin/stats", "Stats"],
          ["mobile-providers", "/admin/providers", "Providers"],
          ["mobile-jobs", "/admin/jobs", "Jobs"],
          ["mobile-alerts", "/admin/alerts", "Alerts"]
        ] as const
        for (const [name, path, heading] of pages) {
          const overflow = yield* step(async () => {
            await page.goto(`${server.baseUrl}${path}`)
            await page.getByRole("heading", { name: heading, level: 1 }).waitFor()
            await page.waitForLoadState("networkidle")
            // A string, so the test needs no DOM types: runs in the page.
            return Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
          })
          yield* screenshot(page, name)
          assert.isAtMost(overflow, 0, `${path} is wider than the screen`)
        }
        assert.deepStrictEqual(problems, [])
      }).pipe(Effect.scoped),
    60_000
  )
})

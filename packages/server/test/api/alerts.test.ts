/**
 * Alerts that reach a person, on the real server with a local webhook
 * receiver and the fake Telegram: a revoked token gives one alert per
 * channel (not one per message), fixing it gives "resolved"; a spent monthly
 * budget alerts once and resolves when the limit is raised or the month
 * turns; bad settings are refused and change nothing.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AlertSettingsView, BotView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"
import { makeToken } from "../support/testConfig.ts"

interface Received {
  readonly path: string
  readonly body: { kind: string; severity: string; botId: string | null; text: string; at: string }
}

/** An HTTP server on 127.0.0.1 that keeps every JSON body posted to it. */
const receiver = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ server: Server; url: string; received: Array<Received> }>((resolve) => {
        const received: Array<Received> = []
        const server = createServer((request, response) => {
          let raw = ""
          request.on("data", (chunk) => {
            raw += chunk
          })
          request.on("end", () => {
            received.push({ path: request.url ?? "", body: JSON.parse(raw) })
            response.writeHead(200).end("ok")
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({ server, url: `http://127.0.0.1:${port}`, received })
        })
      })
  ),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

/** Waits until the alerts job (every 2 s in the tests' configuration) has run `count` more times. */
const moreAlertRuns = (server: TestServer["Service"], count: number) =>
  Effect.gen(function* () {
    const runs = server.sql<{ runs: number }>`
      SELECT count(*)::int AS runs FROM job_runs WHERE job = 'alerts' AND outcome = 'ok'`
    const now = (yield* runs)[0]!.runs
    yield* eventuallyEffect(
      Effect.map(runs, (rows) => rows[0]!.runs >= now + count),
      60_000
    )
  })

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })("alerts", (it) => {
  it.effect(
    "a revoked token alerts once per channel within a minute; a new token sends resolved",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const hook = yield* receiver
        const { bot: pager } = yield* server.addBot("Pager")
        const pagerTelegramId = pager.telegramBotId
        const settings = expectBody(
          yield* api.request("PUT", "/api/settings/alerts", {
            json: {
              webhookUrl: `${hook.url}/hooks/secret-path`,
              telegramBotId: pager.id,
              telegramChatIds: [777001],
              cooldownMinutes: 30
            }
          }),
          200,
          AlertSettingsView
        )
        assert.deepStrictEqual(settings, {
          webhookUrl: `${hook.url}/…`,
          telegramBotId: pager.id,
          telegramChatIds: [777001],
          cooldownMinutes: 30
        })
        assert.notInclude(JSON.stringify(settings), "secret-path", "the webhook's path is not shown")

        const { bot: victim, token } = yield* server.addBot("Victim")
        server.telegram.revokeToken(token)
        for (const text of ["one", "two", "three"]) {
          assert.strictEqual((yield* postUpdate(server.baseUrl, victim, textUpdate(8801, text))).status, 200)
        }
        const started = Date.now()
        const stoppedAlerts = () => hook.received.filter((item) => item.body.kind === "bot_stopped")
        yield* eventually(() => stoppedAlerts().length > 0, 60_000)
        assert.isBelow(Date.now() - started, 60_000, "within a minute")
        const alert = stoppedAlerts()[0]!
        assert.strictEqual(alert.path, "/hooks/secret-path")
        assert.strictEqual(alert.body.severity, "critical")
        assert.strictEqual(alert.body.botId, victim.id)
        assert.match(alert.body.text, /^Bot Victim stopped: /)
        assert.isFalse(Number.isNaN(Date.parse(alert.body.at)))
        const telegramAlerts = () =>
          server.telegram
            .sentTo(777001, pagerTelegramId)
            .filter((sent) => sent.text.includes("Bot Victim stopped"))
        yield* eventually(() => telegramAlerts().length > 0)
        assert.match(telegramAlerts()[0]!.text, /^\[critical\] Bot Victim stopped: /)

        // Two more evaluations of the alerts job and more traffic: still one alert per channel.
        assert.strictEqual((yield* postUpdate(server.baseUrl, victim, textUpdate(8801, "four"))).status, 200)
        yield* moreAlertRuns(server, 2)
        assert.strictEqual(stoppedAlerts().length, 1)
        assert.strictEqual(telegramAlerts().length, 1)

        // The admin gives the bot a working token and enables it again.
        const fresh = makeToken(victim.telegramBotId)
        server.telegram.registerBot(fresh, {
          id: victim.telegramBotId,
          username: victim.username,
          firstName: "Victim"
        })
        expectBody(yield* api.patch(`/api/bots/${victim.id}`, { token: fresh }), 200, BotView)
        expectBody(yield* api.post(`/api/bots/${victim.id}/enable`), 200, BotView)
        yield* eventually(
          () => hook.received.find((item) => item.body.kind === "resolved" && item.body.botId === victim.id),
          60_000
        )
        const resolved = hook.received.find((item) => item.body.kind === "resolved")!
        assert.strictEqual(resolved.body.text, "Resolved: bot stopped")
        yield* eventually(() =>
          server.telegram
            .sentTo(777001, pagerTelegramId)
            .some((sent) => sent.text === "[info] Resolved: bot stopped")
        )
      }).pipe(Effect.scoped),
    120_000
  )

  it.effect(
    "a bot that spends its botUsdPerMonth alerts once; a raised limit or a new month sends resolved",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const hook = yield* receiver
        expectBody(
          yield* api.request("PUT", "/api/settings/alerts", {
            json: { webhookUrl: `${hook.url}/budget`, telegramBotId: null, cooldownMinutes: 30 }
          }),
          200,
          AlertSettingsView
        )
        // Two bots whose first reply spends their whole (tiny) budget.
        const { bot: raised } = yield* server.addBot("Raised budget")
        const { bot: monthly } = yield* server.addBot("Monthly budget")
        for (const [bot, chatId] of [
          [raised, 8901],
          [monthly, 8902]
        ] as const) {
          expectBody(
            yield* api.patch(`/api/bots/${bot.id}`, { limits: { botUsdPerMonth: 0.0000001 } }),
            200,
            BotView
          )
          for (const text of ["spend", "over budget", "still over"]) {
            assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))).status, 200)
          }
        }
        const of = (kind: string, botId: string) =>
          hook.received.filter((item) => item.body.kind === kind && item.body.botId === botId)
        yield* eventually(
          () => of("budget_reached", raised.id).length > 0 && of("budget_reached", monthly.id).length > 0,
          60_000
        )
        const alert = of("budget_reached", raised.id)[0]!
        assert.strictEqual(alert.path, "/budget")
        assert.strictEqual(alert.body.severity, "warning")
        assert.match(alert.body.text, /^Bot Raised budget reached its monthly budget: \$0\.00 of \$0\.00; /)

        // Two more evaluations of the alerts job while still over budget: no second alert.
        yield* moreAlertRuns(server, 2)
        assert.strictEqual(of("budget_reached", raised.id).length, 1)
        assert.strictEqual(of("budget_reached", monthly.id).length, 1)

        // One admin raises the limit; for the other the month turns (its month counter is last month's).
        expectBody(
          yield* api.patch(`/api/bots/${raised.id}`, { limits: { botUsdPerMonth: 1000 } }),
          200,
          BotView
        )
        yield* server.sql`
          UPDATE usage_counters SET period_start = period_start - interval '1 month'
          WHERE bot_id = ${monthly.id} AND period = 'month'`
        yield* eventually(
          () => of("resolved", raised.id).length > 0 && of("resolved", monthly.id).length > 0,
          60_000
        )
        assert.strictEqual(of("resolved", raised.id)[0]!.body.text, "Resolved: budget reached")
        assert.strictEqual(of("resolved", monthly.id).length, 1)
      }).pipe(Effect.scoped),
    120_000
  )

  it.effect("bad alert settings are refused with a clear error and change nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const before = expectBody(yield* api.get("/api/settings/alerts"), 200, AlertSettingsView)
      const bad: ReadonlyArray<[unknown, number, string]> = [
        [{ webhookUrl: "ftp://example.com/x" }, 400, "webhookUrl"],
        [{ cooldownMinutes: 0 }, 400, "cooldownMinutes"],
        [{ telegramChatIds: ["me"] }, 400, "telegramChatIds"],
        [{ telegramBotId: "not-a-uuid" }, 400, "telegramBotId"],
        [{ telegramBotId: "6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11" }, 422, "telegramBotId"]
      ]
      for (const [body, status, field] of bad) {
        const response = yield* api.request("PUT", "/api/settings/alerts", { json: body })
        const message = expectError(response, status, status === 422 ? "bot_not_found" : "invalid_request")
        assert.include(message, field, JSON.stringify(body))
      }
      assert.deepStrictEqual(
        expectBody(yield* api.get("/api/settings/alerts"), 200, AlertSettingsView),
        before
      )
    })
  )
})

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })(
  "one incident, one alert",
  (it) => {
    it.effect(
      "a revoked token's many failed updates raise bot_stopped alone, not also failures_spike",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const hook = yield* receiver
          expectBody(
            yield* api.request("PUT", "/api/settings/alerts", {
              json: {
                webhookUrl: `${hook.url}/hooks`,
                telegramBotId: null,
                telegramChatIds: [],
                cooldownMinutes: 30
              }
            }),
            200,
            AlertSettingsView
          )
          const { bot, token } = yield* server.addBot("Flooded")
          server.telegram.revokeToken(token)
          for (let i = 0; i < 14; i++) {
            assert.strictEqual(
              (yield* postUpdate(server.baseUrl, bot, textUpdate(8901 + i, `m${i}`))).status,
              200
            )
          }
          yield* eventually(() => hook.received.some((item) => item.body.kind === "bot_stopped"), 60_000)
          // Enough failures for a spike on their own: the spike is held back because its cause has an alert.
          const failed = server.sql<{ n: number }>`
          SELECT ((SELECT count(*) FROM messages WHERE status = 'failed')
                + (SELECT count(*) FROM telegram_updates WHERE status = 'failed'))::int AS n`
          yield* eventuallyEffect(
            Effect.map(failed, (rows) => rows[0]!.n >= 10),
            60_000
          )
          yield* moreAlertRuns(server, 3)
          assert.deepStrictEqual(
            hook.received.map((item) => item.body.kind),
            ["bot_stopped"]
          )
        }).pipe(Effect.scoped),
      120_000
    )
  }
)

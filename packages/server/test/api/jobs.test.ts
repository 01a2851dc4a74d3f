/**
 * `GET /api/jobs` on the real server: the scheduler runs its jobs (retention,
 * history retention, the watchdog, alerts, the digest)
 * as soon as the process starts, and the API shows each job with
 * its last run; a done update past INBOX_RETENTION_DAYS is gone afterwards.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { JobsView } from "../../src/api/schemas.ts"
import { expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import {
  eventuallyEffect,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"
import { testConfig } from "../support/testConfig.ts"

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })(
  "scheduled jobs API",
  (it) => {
    it.effect(
      "lists retention, history retention, the watchdog, alerts, the digest and knowledge indexing with their last runs",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const jobs = yield* eventuallyEffect(
            Effect.map(api.get("/api/jobs"), (response) => {
              const body = expectBody(response, 200, JobsView)
              return body.items.every((job) => job.lastRun?.outcome === "ok") ? body : undefined
            })
          )
          assert.deepStrictEqual(
            jobs.items.map((job) => [job.name, job.everySeconds]),
            [
              ["retention", 60],
              ["history_retention", 60],
              ["watchdog", 30],
              // ALERTS_EVERY_SECONDS, 2 in the tests' configuration (15 by default)
              ["alerts", testConfig({}).alertsEverySeconds],
              ["digest", 86400],
              // Documents of knowledge bases, embedded batch by batch
              ["knowledge_indexing", 5]
            ]
          )
          const retention = jobs.items[0]!
          assert.match(retention.lastRun!.detail ?? "", /^deleted \d+ done updates/)
          assert.isAtLeast(retention.lastRun!.durationMs ?? -1, 0)
          assert.isAbove(Date.parse(retention.nextTick), Date.parse(retention.lastRun!.tick))
          const digest = jobs.items[4]!
          assert.strictEqual(
            new Date(digest.lastRun!.tick).getUTCHours(),
            0,
            "the digest's tick is midnight UTC"
          )
        })
    )

    it.effect("retention removes a done update older than INBOX_RETENTION_DAYS on its next tick", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Retained")
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(4401, "old news"))).status, 200)
        assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(4402, "fresh"))).status, 200)
        yield* settled(server, bot.id)
        // Age one of them past the 7-day default, then let the next minute's tick run.
        yield* server.sql`
        UPDATE telegram_updates SET processed_at = now() - interval '8 days'
        WHERE bot_id = ${bot.id} AND chat_key LIKE '%:4401'`
        yield* server.sql`DELETE FROM job_runs WHERE job = 'retention'`
        const left = yield* eventuallyEffect(
          Effect.map(
            server.sql<{ chat_key: string; status: string }>`
            SELECT chat_key, status FROM telegram_updates WHERE bot_id = ${bot.id} ORDER BY update_id`,
            (rows) => (rows.length === 1 ? rows : undefined)
          )
        )
        assert.match(left[0]!.chat_key, /:4402$/)
        assert.strictEqual(left[0]!.status, "done")
      })
    )

    it.effect("seed 002's stats_api_requests_total counts GET /api/stats by period", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        assert.strictEqual((yield* api.get("/api/stats?period=week")).status, 200)
        assert.strictEqual((yield* api.get("/api/stats?period=week")).status, 200)
        const metrics = yield* Effect.promise(() => fetch(`${server.baseUrl}/metrics`).then((r) => r.text()))
        assert.include(metrics, 'stats_api_requests_total{period="week"} 2')
      })
    )
  }
)

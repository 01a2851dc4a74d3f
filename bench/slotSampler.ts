/**
 * `BENCH_SAMPLE_SLOTS=1`: while a scenario runs, reads every 100 ms how the
 * chats with pending updates stand: leased (a slot here), eligible (a due head
 * and no live lease: could be in a slot but is not), parked (the head is not
 * due yet: handed back for its send budget or a retry), and the answers open
 * at the fake model. Summarised as averages over the samples where any work
 * was pending, so the ramp and the tail show beside the steady middle.
 */
import { Database } from "@botfleet/adapters/postgres"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { type Fakes, fakeStats } from "./harness.ts"

interface Sample {
  readonly at: number
  readonly leased: number
  readonly eligible: number
  readonly parked: number
  readonly atModel: number
}

export const sampleSlots = (databaseUrl: string, fakes: Fakes) => {
  const samples: Array<Sample> = []
  let stopped = false
  const started = Date.now()
  const done = Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      while (!stopped) {
        const [row] = yield* sql<{ leased: number; eligible: number; parked: number }>`
          WITH heads AS (
            SELECT DISTINCT ON (chat_key) chat_key, next_attempt_at
            FROM telegram_updates WHERE status = 'pending' ORDER BY chat_key, update_id
          )
          SELECT
            (SELECT count(*) FROM chat_leases WHERE expires_at > now())::int AS leased,
            count(*) FILTER (WHERE h.next_attempt_at <= now() AND l.chat_key IS NULL)::int AS eligible,
            count(*) FILTER (WHERE h.next_attempt_at > now())::int AS parked
          FROM heads h LEFT JOIN chat_leases l ON l.chat_key = h.chat_key AND l.expires_at > now()`
        const stats = yield* Effect.promise(() => fakeStats(fakes))
        samples.push({ at: Date.now() - started, ...row!, atModel: stats.llmInFlight })
        yield* Effect.sleep("100 millis")
      }
    }).pipe(Effect.provide(Database.clientLayer(Redacted.make(databaseUrl), 1)), Effect.orDie)
  )
  return async () => {
    stopped = true
    await done
    const busy = samples.filter((s) => s.leased + s.eligible + s.parked > 0)
    const avg = (pick: (s: Sample) => number, of: ReadonlyArray<Sample>) =>
      of.length === 0 ? 0 : Math.round(of.reduce((sum, s) => sum + pick(s), 0) / of.length)
    // Starved: a sample with a slot free (fewer leased than `slots`) while a chat was eligible.
    return {
      samples: busy.length,
      "leased (avg)": avg((s) => s.leased, busy),
      "at model (avg)": avg((s) => s.atModel, busy),
      "eligible not leased (avg)": avg((s) => s.eligible, busy),
      "parked (avg)": avg((s) => s.parked, busy),
      series: busy.map((s) => [s.at, s.leased, s.atModel, s.eligible, s.parked])
    }
  }
}

/**
 * current_time: the instant from the Clock (TestClock here), in the asked
 * zone with its offset of that day, in the default zone without one, and an
 * unknown zone answered to the model rather than raised. Also through the
 * toolkit, as the turn loop will call it: by name, with encoded arguments.
 */
import { BuiltinToolkit, CurrentTime, currentTime } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"

// 2026-07-01 10:30:00 UTC: summer time in Berlin (+02:00), not in Tokyo (+09:00 always).
const SUMMER = Date.UTC(2026, 6, 1, 10, 30, 0)
// 2026-12-07 03:05:09 UTC: winter in Berlin (+01:00).
const WINTER = Date.UTC(2026, 11, 7, 3, 5, 9)

describe("current_time", () => {
  it.effect("answers in the asked zone with that day's offset", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(SUMMER)
      const tell = currentTime("UTC")
      const berlin = yield* tell({ timeZone: "Europe/Berlin" })
      assert.strictEqual(berlin.iso, "2026-07-01T12:30:00+02:00")
      assert.include(berlin.local, "1 July 2026")
      assert.include(berlin.local, "12:30")
      assert.strictEqual((yield* tell({ timeZone: "Asia/Tokyo" })).iso, "2026-07-01T19:30:00+09:00")
      yield* TestClock.setTime(WINTER)
      assert.strictEqual((yield* tell({ timeZone: "Europe/Berlin" })).iso, "2026-12-07T04:05:09+01:00")
      assert.strictEqual((yield* tell({ timeZone: "America/St_Johns" })).iso, "2026-12-06T23:35:09-03:30")
    })
  )

  it.effect("without a zone, the default one", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(WINTER)
      const utc = yield* currentTime("UTC")({})
      assert.deepStrictEqual(
        { timeZone: utc.timeZone, iso: utc.iso },
        { timeZone: "UTC", iso: "2026-12-07T03:05:09+00:00" }
      )
      assert.strictEqual((yield* currentTime("Asia/Kolkata")({})).iso, "2026-12-07T08:35:09+05:30")
    })
  )

  it.effect("an unknown zone is told to the model, not raised", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(currentTime("UTC")({ timeZone: "Mars/Olympus" }))
      assert.include(failure.reason, "Mars/Olympus")
    })
  )

  it.effect("through the toolkit: by name, a failure returned as the tool's result", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(WINTER)
      const toolkit = yield* BuiltinToolkit
      assert.strictEqual(CurrentTime.name, "current_time")
      const run = (timeZone: string) =>
        Effect.flatMap(toolkit.handle("current_time", { timeZone }), (results) => Stream.runCollect(results))
      const [ok] = yield* run("Europe/Berlin")
      assert.isFalse(ok!.isFailure)
      assert.deepInclude(ok!.encodedResult as object, { iso: "2026-12-07T04:05:09+01:00" })
      const [refused] = yield* run("Nowhere/Land")
      assert.isTrue(refused!.isFailure)
      assert.include((refused!.result as { reason: string }).reason, "Nowhere/Land")
    }).pipe(
      Effect.provide(
        BuiltinToolkit.toLayer({
          current_time: currentTime("UTC"),
          fetch_url: () => Effect.die("not called"),
          generate_image: () => Effect.die("not called"),
          remember: () => Effect.die("not called"),
          forget: () => Effect.die("not called")
        }).pipe(Layer.orDie)
      )
    )
  )
})

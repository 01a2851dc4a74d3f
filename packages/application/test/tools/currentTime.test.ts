/**
 * current_time: the instant from the Clock (TestClock here), in the asked
 * zone with its offset of that day, in the default zone without one, and an
 * unknown zone answered to the model rather than raised. Also through the
 * pipeline's toolkit, as the turn loop calls it: by name, for a bot whose
 * time zone answers when the model names none.
 */
import { BuiltinToolkit, CurrentTime, currentTime, ToolTurn } from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { addBot, chatOf, harness, messagesOf, processUpdate, textUpdate } from "../harness.ts"

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

  it.effect(
    "through the pipeline's toolkit: by name, the bot's time zone without one, a failure returned as the result",
    () =>
      Effect.gen(function* () {
        const { bot, token } = yield* addBot({ timeZone: "Asia/Kolkata" })
        yield* processUpdate(bot, textUpdate(1, "hello"))
        const chat = Option.getOrThrow(yield* chatOf(bot))
        const incoming = (yield* messagesOf(bot)).find((message) => message.role === "user")!
        yield* TestClock.setTime(WINTER)
        const toolkit = yield* BuiltinToolkit
        assert.strictEqual(CurrentTime.name, "current_time")
        const run = (params: { readonly timeZone?: string }) =>
          Effect.flatMap(toolkit.handle("current_time", params), (results) =>
            Stream.runCollect(results)
          ).pipe(
            Effect.provideService(
              ToolTurn,
              ToolTurn.of({ bot, token, chat, incoming, spend: () => Effect.void })
            )
          )
        const [own] = yield* run({})
        assert.deepInclude(own!.encodedResult as object, {
          timeZone: "Asia/Kolkata",
          iso: "2026-12-07T08:35:09+05:30"
        })
        const [ok] = yield* run({ timeZone: "Europe/Berlin" })
        assert.isFalse(ok!.isFailure)
        assert.deepInclude(ok!.encodedResult as object, { iso: "2026-12-07T04:05:09+01:00" })
        const [refused] = yield* run({ timeZone: "Nowhere/Land" })
        assert.isTrue(refused!.isFailure)
        assert.include((refused!.result as { reason: string }).reason, "Nowhere/Land")
      }).pipe(Effect.provide(harness()))
  )
})

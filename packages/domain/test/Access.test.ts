import { assert, describe, it } from "@effect/vitest"
import {
  checkLimits,
  EMPTY_USAGE,
  formatUtc,
  limitText,
  NO_LIMITS,
  usageText,
  windowEnd,
  windowStart
} from "../src/Access.ts"

const at = new Date("2026-03-31T23:59:30.500Z")

describe("usage windows (UTC)", () => {
  it("start and end of the minute, day and month holding a moment", () => {
    assert.strictEqual(windowStart("minute", at).toISOString(), "2026-03-31T23:59:00.000Z")
    assert.strictEqual(windowEnd("minute", at).toISOString(), "2026-04-01T00:00:00.000Z")
    assert.strictEqual(windowStart("day", at).toISOString(), "2026-03-31T00:00:00.000Z")
    assert.strictEqual(windowEnd("day", at).toISOString(), "2026-04-01T00:00:00.000Z")
    assert.strictEqual(windowStart("month", at).toISOString(), "2026-03-01T00:00:00.000Z")
    assert.strictEqual(
      windowEnd("month", new Date("2026-12-15T10:00:00Z")).toISOString(),
      "2027-01-01T00:00:00.000Z"
    )
  })
})

describe("checkLimits", () => {
  it("no limits: always within", () => {
    const heavy = { ...EMPTY_USAGE, userMessagesToday: 10_000, botUsdThisMonth: 1e6 }
    assert.deepStrictEqual(checkLimits(NO_LIMITS, heavy, at), { _tag: "WithinLimits" })
  })

  it("a count stops at the limit, with the window's reset time", () => {
    const limits = { ...NO_LIMITS, userMessagesPerDay: 3 }
    assert.deepStrictEqual(checkLimits(limits, { ...EMPTY_USAGE, userMessagesToday: 2 }, at), {
      _tag: "WithinLimits"
    })
    assert.deepStrictEqual(checkLimits(limits, { ...EMPTY_USAGE, userMessagesToday: 3 }, at), {
      _tag: "OverLimit",
      limit: "userMessagesPerDay",
      windowStart: new Date("2026-03-31T00:00:00Z"),
      resetAt: new Date("2026-04-01T00:00:00Z")
    })
  })

  it("the longest window reached is the one reported", () => {
    const limits = { ...NO_LIMITS, userMessagesPerMinute: 1, userUsdPerMonth: 0.5 }
    const usage = { ...EMPTY_USAGE, userMessagesThisMinute: 1, userUsdThisMonth: 0.5 }
    const check = checkLimits(limits, usage, at)
    assert.strictEqual(check._tag === "OverLimit" && check.limit, "userUsdPerMonth")
  })

  it("a sender without a user id is held to the bot's budget only", () => {
    const limits = { ...NO_LIMITS, userMessagesPerDay: 0, botUsdPerMonth: 1 }
    assert.deepStrictEqual(checkLimits(limits, EMPTY_USAGE, at, false), { _tag: "WithinLimits" })
    const check = checkLimits(limits, { ...EMPTY_USAGE, botUsdThisMonth: 1 }, at, false)
    assert.strictEqual(check._tag === "OverLimit" && check.limit, "botUsdPerMonth")
  })
})

describe("texts", () => {
  it("the limit message names the limit and its reset time", () => {
    const check = checkLimits({ ...NO_LIMITS, userMessagesPerDay: 0 }, EMPTY_USAGE, at)
    assert.strictEqual(check._tag, "OverLimit")
    if (check._tag !== "OverLimit") return
    assert.strictEqual(
      limitText("Limit: {limit}. Back at {reset}.", check),
      "Limit: messages per day. Back at 2026-04-01 00:00 UTC."
    )
    assert.strictEqual(formatUtc(new Date("2026-04-01T00:00:00Z")), "2026-04-01 00:00 UTC")
  })

  it("/usage lists the use, with the limit and reset where there is one", () => {
    const text = usageText(
      { ...NO_LIMITS, userMessagesPerDay: 3 },
      { ...EMPTY_USAGE, userMessagesToday: 2, userTokensToday: 40 },
      at
    )
    assert.include(text, "Messages today: 2 of 3 (resets 2026-04-01 00:00 UTC)")
    assert.include(text, "Tokens today: 40")
    assert.notInclude(text, "Tokens today: 40 of")
  })
})

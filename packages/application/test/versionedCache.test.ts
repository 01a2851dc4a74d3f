import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as VersionedCache from "../src/settings/VersionedCache.ts"

describe("VersionedCache", () => {
  it("keeps an entry for its version only, whatever the time", () => {
    const cache = VersionedCache.make<string, string>(10)
    let made = 0
    const make = () => `value ${++made}`
    assert.strictEqual(cache.get("bot", 1, make), "value 1")
    assert.strictEqual(cache.get("bot", 1, make), "value 1")
    assert.strictEqual(cache.get("bot", 2, make), "value 2", "a newer version reads again")
    assert.strictEqual(cache.get("bot", 1, make), "value 3", "and so does any other")
    assert.strictEqual(cache.find("bot", 1), "value 3")
    assert.isUndefined(cache.find("bot", 2))
    cache.invalidate("bot")
    assert.isUndefined(cache.find("bot", 1))
  })

  it("past its capacity, the entry used longest ago goes", () => {
    const cache = VersionedCache.make<string, number>(2)
    cache.set("a", 1, 1)
    cache.set("b", 1, 2)
    assert.strictEqual(cache.find("a", 1), 1)
    cache.set("c", 1, 3)
    assert.strictEqual(cache.size(), 2)
    assert.isUndefined(cache.find("b", 1), "b was used longest ago")
    assert.strictEqual(cache.find("a", 1), 1)
    assert.strictEqual(cache.find("c", 1), 3)
  })

  it.effect("a failed load is not kept", () =>
    Effect.gen(function* () {
      const cache = VersionedCache.make<string, number>(10)
      const failed = yield* Effect.flip(cache.getEffect("bot", 1, Effect.fail("down")))
      assert.strictEqual(failed, "down")
      assert.strictEqual(cache.size(), 0)
      assert.strictEqual(yield* cache.getEffect("bot", 1, Effect.succeed(7)), 7)
      assert.strictEqual(yield* cache.getEffect("bot", 1, Effect.succeed(8)), 7, "kept once loaded")
    })
  )
})

import { assert, describe, it } from "@effect/vitest"
import { admitUpdate } from "../../src/pipeline/admitUpdate.ts"

const update = (text: string) => ({
  update_id: 7,
  message: {
    message_id: 1,
    date: 1_700_000_000,
    chat: { id: 5, type: "private" },
    from: { id: 5, is_bot: false, first_name: "Ada" },
    text,
    entities: [{ type: "bold", offset: 0, length: 2 }]
  }
})

describe("admitUpdate copies only what it changes", () => {
  it("a clean update, emoji included, is stored as it came", () => {
    const body = update("hi 👋 there")
    const admitted = admitUpdate(body)
    assert.strictEqual(admitted.payload, body)
    assert.isNull(admitted.problem)
    assert.strictEqual(admitted.updateId, 7)
  })

  it("an unsafe string is replaced in a copy; the caller's object is left as it was", () => {
    const body = update("bad \u0000 and \uD800 here")
    const before = JSON.stringify(body)
    const admitted = admitUpdate(body)
    assert.notStrictEqual(admitted.payload, body)
    assert.strictEqual(JSON.stringify(body), before)
    const message = (admitted.payload as ReturnType<typeof update>).message
    assert.strictEqual(message.text, "bad \uFFFD and \uFFFD here")
    // Untouched branches are shared, not copied.
    assert.strictEqual(message.entities, body.message.entities)
  })

  it("an unsafe key and an unsafe array item are replaced too", () => {
    const body = { update_id: 8, "k\u0000": ["ok", "x\uDC00"] }
    const admitted = admitUpdate(body).payload as Record<string, unknown>
    assert.deepStrictEqual(admitted, { update_id: 8, "k\uFFFD": ["ok", "x\uFFFD"] })
  })
})

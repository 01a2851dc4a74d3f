/** How the transcript tags what a message carried. */
import { assert, describe, it } from "@effect/vitest"
import { duration, kindLabel, topicLabel } from "../assets/format.js"

describe("message kinds", () => {
  it("recordings show their length; photos and other media their kind; text nothing", () => {
    assert.strictEqual(kindLabel({ kind: "voice", mediaSeconds: 12 }), "voice 0:12")
    assert.strictEqual(kindLabel({ kind: "video_note", mediaSeconds: 65 }), "video note 1:05")
    assert.strictEqual(kindLabel({ kind: "photo", mediaSeconds: null }), "photo")
    assert.strictEqual(kindLabel({ kind: "other", mediaSeconds: null }), "other media")
    assert.isNull(kindLabel({ kind: "text", mediaSeconds: null }))
  })

  it("a message in a forum topic shows the topic; outside topics nothing", () => {
    assert.strictEqual(topicLabel({ topicId: 12 }), "topic 12")
    assert.isNull(topicLabel({ topicId: null }))
    assert.isNull(topicLabel({}))
  })

  it("lengths over an hour show hours", () => {
    assert.strictEqual(duration(3 * 3600 + 5 * 60 + 9), "3:05:09")
    assert.strictEqual(duration(0), "0:00")
  })
})

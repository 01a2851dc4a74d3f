import { assert, describe, it } from "@effect/vitest"
import { Equal, Schema } from "effect"
import { Message } from "../src/Message.ts"
import { trusted } from "../src/trusted.ts"

const fields = {
  id: "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60",
  chatId: "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f61",
  botId: "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f62",
  role: "user",
  text: "hello",
  thread: 0,
  tgUserId: 5,
  updateId: 7,
  replyTo: null,
  telegramMessageIds: [1],
  chunksSent: 0,
  model: null,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  status: "received",
  error: null,
  createdAt: new Date(0),
  sentAt: null,
  senderName: null,
  kind: "text",
  mediaSeconds: null
} as const

describe("trusted", () => {
  it("makes the same instance as the class constructor, without validating again", () => {
    const checked = new Message(Schema.decodeUnknownSync(Message)(fields))
    const made = trusted(Message, Schema.decodeUnknownSync(Message)(fields))
    assert.instanceOf(made, Message)
    assert.isTrue(Equal.equals(made, checked))
    assert.deepStrictEqual(Object.keys(made), Object.keys(checked))
    assert.strictEqual(String(made), String(checked))
    assert.isTrue(Schema.is(Message)(made))
  })
})

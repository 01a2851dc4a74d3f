import { assert, describe, it } from "@effect/vitest"
import { Equal, Schema } from "effect"
import { BotId, ChatId, MessageId, TelegramUserId } from "../src/ids.ts"
import { incoming, Message } from "../src/Message.ts"
import { trusted } from "../src/trusted.ts"

// Every field of a message, as a plain object.
const fields = {
  ...incoming({
    id: MessageId.make("3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60"),
    chatId: ChatId.make("3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f61"),
    botId: BotId.make("3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f62"),
    thread: 0,
    tgUserId: TelegramUserId.make(5),
    updateId: 7,
    telegramMessageId: 1,
    text: "hello",
    at: new Date(0)
  })
}

describe("trusted", () => {
  it("makes the same instance as the class constructor, without validating again", () => {
    const checked = new Message(fields)
    const made = trusted(Message, fields)
    assert.instanceOf(made, Message)
    assert.isTrue(Equal.equals(made, checked))
    assert.deepStrictEqual(Object.keys(made), Object.keys(checked))
    assert.strictEqual(String(made), String(checked))
    assert.isTrue(Schema.is(Message)(made))
  })
})

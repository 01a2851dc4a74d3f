import { assert, describe, it } from "@effect/vitest"
import { BotId, ChatId, MessageId, TelegramUserId } from "../src/ids.ts"
import { admin, chunkSent, failed, incoming, reply, retried } from "../src/Message.ts"

const at = new Date("2026-01-01T00:00:00Z")
const ids = {
  bot: BotId.make("6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"),
  chat: ChatId.make("0b0c0d0e-6b1e-4c55-9a53-3f4d2b6f0a11"),
  question: MessageId.make("1a1a1a1a-6b1e-4c55-9a53-3f4d2b6f0a11"),
  answer: MessageId.make("2b2b2b2b-6b1e-4c55-9a53-3f4d2b6f0a11")
}
const question = incoming({
  id: ids.question,
  chatId: ids.chat,
  botId: ids.bot,
  thread: 3,
  tgUserId: TelegramUserId.make(42),
  updateId: 7,
  telegramMessageId: 99,
  text: "hello",
  at
})

describe("Message constructors", () => {
  it("incoming: a received user message carrying its update and Telegram message id", () => {
    assert.strictEqual(question.role, "user")
    assert.strictEqual(question.status, "received")
    assert.strictEqual(question.updateId, 7)
    assert.deepStrictEqual(question.telegramMessageIds, [99])
    assert.strictEqual(question.thread, 3)
  })

  it("reply: pending, in the question's chat and thread, stamped after the question", () => {
    const answer = reply(question, { id: ids.answer, text: "hi", at })
    assert.strictEqual(answer.role, "assistant")
    assert.strictEqual(answer.status, "pending")
    assert.strictEqual(answer.replyTo, ids.question)
    assert.strictEqual(answer.thread, 3)
    assert.strictEqual(answer.model, null)
    // Same millisecond as the question: still ordered after it.
    assert.strictEqual(answer.createdAt.getTime(), at.getTime() + 1)
  })

  it("reply: carries the model's usage", () => {
    const usage = { model: "m", inputTokens: 10, outputTokens: 5, costUsd: 0.01 }
    const answer = reply(question, { id: ids.answer, text: "hi", at: new Date(at.getTime() + 50), usage })
    assert.deepStrictEqual(
      [answer.model, answer.inputTokens, answer.outputTokens, answer.costUsd],
      ["m", 10, 5, 0.01]
    )
    assert.strictEqual(answer.createdAt.getTime(), at.getTime() + 50)
  })

  it("admin: a pending message in the chat's thread, with no reply link", () => {
    const message = admin({ id: ids.answer, chatId: ids.chat, botId: ids.bot, thread: 3, text: "x", at })
    assert.strictEqual(message.role, "admin")
    assert.strictEqual(message.status, "pending")
    assert.strictEqual(message.replyTo, null)
  })
})

describe("Message transitions", () => {
  const answer = reply(question, { id: ids.answer, text: "hi", at })
  const later = new Date(at.getTime() + 1000)

  it("chunkSent: counts chunks and becomes sent after the last one", () => {
    const first = chunkSent(answer, 501, 2, later)
    assert.strictEqual(first.status, "pending")
    assert.strictEqual(first.sentAt, null)
    const second = chunkSent(first, 502, 2, later)
    assert.strictEqual(second.status, "sent")
    assert.strictEqual(second.chunksSent, 2)
    assert.deepStrictEqual(second.telegramMessageIds, [501, 502])
    assert.deepStrictEqual(second.sentAt, later)
  })

  it("chunkSent: a failed reply (the bot's error message) stays failed when delivered", () => {
    const delivered = chunkSent(failed(answer, "gave up"), 501, 1, later)
    assert.strictEqual(delivered.status, "failed")
    assert.strictEqual(delivered.error, "gave up")
    assert.deepStrictEqual(delivered.sentAt, later)
  })

  it("failed, then retried: pending again without the error", () => {
    const gaveUp = failed(answer, "blocked")
    assert.deepStrictEqual([gaveUp.status, gaveUp.error], ["failed", "blocked"])
    const again = retried(gaveUp)
    assert.deepStrictEqual([again.status, again.error], ["pending", null])
  })
})

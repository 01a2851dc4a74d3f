import {
  classifyLlm,
  classifyTelegram,
  LlmError,
  matchTelegramFailure,
  retryLater,
  TelegramError
} from "@botfleet/application"
import { assert, describe, it } from "@effect/vitest"

const telegram = (kind: TelegramError["kind"], retryAfterSeconds: number | null = null) =>
  new TelegramError({ method: "sendMessage", kind, status: null, description: kind, retryAfterSeconds })
const llm = (kind: LlmError["kind"]) =>
  new LlmError({ kind, model: "m", description: kind, retryAfterSeconds: null })

describe("failure classes", () => {
  it("Telegram: a rejected token is fatal, 429 and outages retryable, the rest terminal", () => {
    assert.strictEqual(classifyTelegram(telegram("unauthorized")), "fatal")
    assert.strictEqual(classifyTelegram(telegram("rate_limited", 3)), "retryable")
    assert.strictEqual(classifyTelegram(telegram("unavailable")), "retryable")
    assert.strictEqual(classifyTelegram(telegram("forbidden")), "terminal")
    assert.strictEqual(classifyTelegram(telegram("bad_request")), "terminal")
    assert.strictEqual(classifyTelegram(telegram("not_found")), "terminal")
  })

  it("model: rate limits, timeouts and outages are retryable; key, quota and bad requests terminal", () => {
    for (const kind of ["rate_limited", "timeout", "unavailable"] as const) {
      assert.strictEqual(classifyLlm(llm(kind)), "retryable")
    }
    for (const kind of ["auth", "quota", "bad_request"] as const) {
      assert.strictEqual(classifyLlm(llm(kind)), "terminal")
    }
  })

  it("retryLater keeps the server's retry_after", () => {
    assert.strictEqual(retryLater(telegram("rate_limited", 7)).retryAfterSeconds, 7)
  })

  it("matchTelegramFailure: a rejected token stops the bot, 429 retries after retry_after, a 400 gives up", () => {
    const verdict = (error: TelegramError) =>
      matchTelegramFailure(error, {
        stopBot: (reason) => ["stop", reason] as const,
        retry: (later) => ["retry", later.retryAfterSeconds] as const,
        giveUp: (given) => ["give up", given.kind] as const
      })
    assert.deepStrictEqual(verdict(telegram("unauthorized")), [
      "stop",
      "Telegram rejected the token: unauthorized"
    ])
    assert.deepStrictEqual(verdict(telegram("rate_limited", 5)), ["retry", 5])
    assert.deepStrictEqual(verdict(telegram("unavailable")), ["retry", null])
    assert.deepStrictEqual(verdict(telegram("bad_request")), ["give up", "bad_request"])
    assert.deepStrictEqual(verdict(telegram("forbidden")), ["give up", "forbidden"])
  })
})

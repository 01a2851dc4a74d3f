/**
 * The one classifier of Telegram and model failures:
 *
 *   fatal      the bot cannot work (Telegram rejects its token): stop the bot
 *   retryable  it may pass (timeouts, 5xx, 429 with retry_after): run again later
 *   terminal   retrying will not help (a blocked user, a 400, a bad model key):
 *              record it where admins see it and move on
 */
import type { LlmError } from "../ports/LanguageModel.ts"
import type { TelegramError } from "../ports/TelegramGateway.ts"
import { RetryLater } from "./PipelineErrors.ts"

export type FailureClass = "fatal" | "retryable" | "terminal"

export const classifyTelegram = (error: TelegramError): FailureClass =>
  error.kind === "unauthorized" ? "fatal" : error.isRetryable ? "retryable" : "terminal"

/** A model's key or quota problem is not the bot's token: the reply fails, the bot keeps working. */
export const classifyLlm = (error: LlmError): FailureClass => (error.isRetryable ? "retryable" : "terminal")

/** The reason a bot is stopped for when Telegram rejects its token. */
export const tokenRejected = (error: TelegramError): string =>
  `Telegram rejected the token: ${error.description}`

/** Run the update again later, honouring the server's own retry_after. */
export const retryLater = (error: TelegramError | LlmError): RetryLater =>
  new RetryLater({
    reason: error.message,
    retryAfterSeconds: error.retryAfterSeconds,
    ...(error._tag === "LlmError" ? { failureKind: `model_${error.kind}` as const } : {})
  })

/** Each caller's own way to stop the bot, try again later, or give up on this call. */
export interface TelegramFailureCases<S, R, G> {
  /** Telegram refused the bot's token: `reason` is what admins see. */
  readonly stopBot: (reason: string) => S
  /** It may pass later: `later` carries Telegram's retry_after. */
  readonly retry: (later: RetryLater) => R
  /** Retrying this call will not help. */
  readonly giveUp: (error: TelegramError) => G
}

/**
 * The one place a Telegram failure becomes "stop the bot", "retry" or "give
 * up": the pipeline steps, the effect runner and the poller all come here
 * with what each of the three means for them.
 */
export const matchTelegramFailure = <S, R, G>(
  error: TelegramError,
  cases: TelegramFailureCases<S, R, G>
): S | R | G => {
  switch (classifyTelegram(error)) {
    case "fatal":
      return cases.stopBot(tokenRejected(error))
    case "retryable":
      return cases.retry(retryLater(error))
    case "terminal":
      return cases.giveUp(error)
  }
}

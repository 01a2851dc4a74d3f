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
  new RetryLater({ reason: error.message, retryAfterSeconds: error.retryAfterSeconds })

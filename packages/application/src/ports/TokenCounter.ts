/**
 * Tokens of a text as a model reads it: a real tokenizer where the model's
 * encoding is known (contextBudget.ts's table), an estimate otherwise.
 * Synchronous: counting is CPU work, no I/O. A count is never more than the
 * text's UTF-8 bytes (domain's `tokensAtMost`): callers that only need to know
 * a text fits may check that bound first and count only when it does not.
 */
import { Context } from "effect"

export class TokenCounter extends Context.Service<
  TokenCounter,
  {
    readonly count: (model: string, text: string) => number
    /**
     * The same for a stored message's text, remembered under `key` (its id):
     * a thread's history is read again for every answer, and a message's text
     * does not change once stored.
     */
    readonly countStored: (model: string, key: string, text: string) => number
  }
>()("@botfleet/application/TokenCounter") {}

/**
 * Tokens of a text as a model reads it: a real tokenizer where the model's
 * encoding is known (contextBudget.ts's table), an estimate otherwise.
 * Synchronous: counting is CPU work, no I/O.
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

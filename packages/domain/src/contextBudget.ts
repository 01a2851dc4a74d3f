/**
 * How much of a conversation the model reads: the prompt's token budget and
 * which earlier messages fit in it. Pure rules; the counting itself (a real
 * tokenizer or an estimate) is the `TokenCounter` port's.
 *
 * The budget covers the whole request: the system prompt and other fixed
 * turns, the history, the message being answered and room for the answer.
 * The history is taken newest first, whole messages only, and stops at the
 * first message that does not fit, so the model never reads a conversation
 * with a hole in it.
 */

/** Context windows of known models (input and output together), longest prefix first. */
const CONTEXT_WINDOWS: ReadonlyArray<readonly [prefix: string, tokens: number]> = [
  ["gpt-5", 400_000],
  ["gpt-4.1", 1_047_576],
  ["gpt-4o", 128_000],
  ["chatgpt-4o", 128_000],
  ["gpt-4-turbo", 128_000],
  ["gpt-4-1106", 128_000],
  ["gpt-4-0125", 128_000],
  ["gpt-4-32k", 32_768],
  ["gpt-4", 8_192],
  ["gpt-3.5-turbo-instruct", 4_096],
  ["gpt-3.5-turbo", 16_385],
  ["o1-mini", 128_000],
  ["o1", 200_000],
  ["o3", 200_000],
  ["o4-mini", 200_000]
]

/** An unknown model (a local server's, say) is assumed to read this much. */
export const UNKNOWN_CONTEXT_WINDOW = 8_192

/** The tokenizer a known model uses; null: unknown, its tokens are estimated. */
export type TokenEncoding = "o200k_base" | "cl100k_base"

/** `openai/gpt-4o` and `gpt-4o` are the same model to us: a provider prefix is dropped. */
const bareModel = (model: string): string => model.slice(model.lastIndexOf("/") + 1).toLowerCase()

const knownWindow = (model: string): number | undefined => {
  const name = bareModel(model)
  let best: readonly [string, number] | undefined
  for (const entry of CONTEXT_WINDOWS) {
    if (name.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length)) best = entry
  }
  return best?.[1]
}

/** The model's context window: the table's, else `UNKNOWN_CONTEXT_WINDOW`. */
export const contextWindowOf = (model: string): number => knownWindow(model) ?? UNKNOWN_CONTEXT_WINDOW

/** The encoding of a known model; null when the model is not in the table. */
export const encodingOf = (model: string): TokenEncoding | null => {
  if (knownWindow(model) === undefined) return null
  const name = bareModel(model)
  return name.startsWith("gpt-4-") || name === "gpt-4" || name.startsWith("gpt-3.5")
    ? "cl100k_base"
    : "o200k_base"
}

/**
 * An estimate for a model whose tokenizer we do not know: a quarter of a
 * token per ASCII character with a quarter more as margin, and a whole token
 * for any other character (Cyrillic, CJK and emoji cost far more than Latin
 * text in every tokenizer). Errs high: the history gets shorter, never too long.
 */
export const estimateTokens = (text: string): number => {
  let ascii = 0
  let other = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code < 128) ascii++
    // A surrogate pair is one character: counted once, at its high half.
    else if (code < 0xdc00 || code > 0xdfff) other++
  }
  return Math.ceil((ascii / 4) * 1.25) + other
}

/**
 * The most tokens any count here makes of `text`: its UTF-8 bytes. A
 * byte-level BPE token (o200k_base, cl100k_base) stands for at least one
 * byte, and `estimateTokens` gives at most a token per character, each at
 * least one byte. What fits by this bound fits counted, so a short thread is
 * chosen without counting, or loading an encoding (~310 ms the first time).
 */
export const tokensAtMost = (text: string): number => {
  let bytes = 0
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1)
      // A surrogate pair is one code point of four bytes; a lone half is written as U+FFFD (three).
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        index++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/** Each message's role and separators in the chat format (OpenAI's cookbook counts 3-4). */
export const MESSAGE_OVERHEAD_TOKENS = 4
/** The answer's priming, once per request. */
export const REQUEST_OVERHEAD_TOKENS = 3
/** What an image costs at most in a request (a high-detail 512 px tile set is 765). */
export const IMAGE_TOKENS = 1_000
/** The answer's room when the bot sets no `maxOutputTokens`: a quarter of the budget, at most this. */
export const DEFAULT_ANSWER_ROOM = 4_096

export interface PromptBudget {
  /** The whole request: prompt and answer. */
  readonly total: number
  /** Kept free for the answer. */
  readonly answer: number
}

/**
 * The budget for one request: the bot's `contextTokens`, else the model's
 * window; the answer's room is `maxOutputTokens`, else a quarter of the
 * budget (at most 4,096), never more than half of it.
 */
export const promptBudget = (
  settings: { readonly contextTokens: number | null; readonly maxOutputTokens: number | null },
  model: string
): PromptBudget => {
  const total = settings.contextTokens ?? contextWindowOf(model)
  const wanted = settings.maxOutputTokens ?? Math.min(DEFAULT_ANSWER_ROOM, Math.floor(total / 4))
  return { total, answer: Math.min(wanted, Math.floor(total / 2)) }
}

/** What the history may take: the budget less the answer's room and the fixed turns. */
export const historyRoom = (budget: PromptBudget, fixedTokens: number): number =>
  Math.max(0, budget.total - budget.answer - REQUEST_OVERHEAD_TOKENS - fixedTokens)

export interface Chosen<A> {
  /** Oldest first, as the model reads them. */
  readonly kept: ReadonlyArray<A>
  /** Left out, oldest first: older than every kept one. */
  readonly dropped: ReadonlyArray<A>
  readonly tokens: number
}

/**
 * The newest messages (the last of `messages`, oldest first) that fit in
 * `room` tokens and `limit` messages, whole and without gaps. The newest one
 * (the message being answered) is always kept: the caller makes it fit.
 */
export const chooseHistory = <A>(
  messages: ReadonlyArray<A>,
  tokensOf: (message: A) => number,
  room: number,
  limit: number
): Chosen<A> => {
  let tokens = 0
  let start = messages.length
  while (start > 0 && messages.length - start < Math.max(1, limit)) {
    const cost = tokensOf(messages[start - 1]!)
    if (start < messages.length && tokens + cost > room) break
    tokens += cost
    start--
  }
  return { kept: messages.slice(start), dropped: messages.slice(0, start), tokens }
}

/** How a summary leads the history the model reads. */
export const SUMMARY_LEAD = "Summary of the earlier conversation: "

/** The fixed instruction of the summarising call. */
export const SUMMARY_PROMPT =
  "You keep the memory of a long chat between users and an assistant. Write a concise summary of the conversation below, " +
  "starting from the earlier summary when there is one: the facts the users gave about themselves, what they asked, " +
  "what was answered or decided, and anything still open. Write in the conversation's language, in plain prose, " +
  "at most 300 words. Do not address anyone; output only the summary."

/** The summarising call's longest answer. */
export const SUMMARY_MAX_OUTPUT_TOKENS = 600

/** A summary's room within a budget: at most a quarter of it. */
export const summaryOutputTokens = (total: number): number =>
  Math.min(SUMMARY_MAX_OUTPUT_TOKENS, Math.floor(total / 4))

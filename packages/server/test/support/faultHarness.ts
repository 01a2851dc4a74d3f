/**
 * Shared pieces of the fault-injection suite (test/faults): traffic that
 * retries its webhook posts the way Telegram does, a report of what reached
 * the fake Telegram (missing, out of order, repeated), /metrics samples, and
 * the inbox and reply state an admin would see.
 */
import type { FakeTelegram } from "@botfleet/testing"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import { textUpdate } from "./inProcessServer.ts"

/** What a webhook post needs to know about a bot. */
export interface WebhookTarget {
  readonly id: string
  readonly webhookSecret: string
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/**
 * Posts one update until it is acknowledged with 200, as Telegram keeps
 * retrying a webhook delivery: a refused connection, a reset or a 5xx is
 * tried again after `retryDelayMs`. Resolves with the number of failed posts.
 */
export const deliverUpdate = async (
  baseUrl: string,
  bot: WebhookTarget,
  update: unknown,
  options: { readonly timeoutMs?: number | undefined; readonly retryDelayMs?: number | undefined } = {}
): Promise<number> => {
  const timeoutMs = options.timeoutMs ?? 60_000
  const started = Date.now()
  let failures = 0
  let last = ""
  while (Date.now() - started < timeoutMs) {
    try {
      const response = await fetch(`${baseUrl}/telegram/webhook/${bot.id}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": bot.webhookSecret },
        body: JSON.stringify(update),
        signal: AbortSignal.timeout(10_000)
      })
      last = `${response.status} ${await response.text()}`
      if (response.status === 200) return failures
    } catch (error) {
      last = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error)
    }
    failures += 1
    await sleep(options.retryDelayMs ?? 100)
  }
  throw new Error(`update not accepted within ${timeoutMs} ms (${failures} tries); last answer: ${last}`)
}

/** The text a user writes, and the fake LLM's answer to it. */
export const messageText = (label: string, chatId: number, n: number) =>
  `${label} chat ${chatId} message ${n}`
export const replyText = (label: string, chatId: number, n: number) =>
  `reply to: ${messageText(label, chatId, n)}`

export interface TrafficOptions {
  readonly baseUrl: string
  readonly bot: WebhookTarget
  readonly label: string
  readonly chats: ReadonlyArray<number>
  /** Message numbers, inclusive: each chat writes `from`..`to` one after another. */
  readonly from: number
  readonly to: number
  /** Pause between one chat's messages (after each is acknowledged). */
  readonly spacingMs?: number | undefined
  readonly timeoutMs?: number | undefined
}

/**
 * Every chat writes its messages in order (each one acknowledged before the
 * next, as a person would), all chats at once. Returns how many posts failed
 * and had to be sent again.
 */
export const sendTraffic = (options: TrafficOptions) =>
  Effect.promise(async () => {
    let failedPosts = 0
    await Promise.all(
      options.chats.map(async (chatId) => {
        for (let n = options.from; n <= options.to; n++) {
          const update = textUpdate(chatId, messageText(options.label, chatId, n))
          failedPosts += await deliverUpdate(options.baseUrl, options.bot, update, {
            timeoutMs: options.timeoutMs
          })
          if (options.spacingMs !== undefined && n < options.to) await sleep(options.spacingMs)
        }
      })
    )
    return failedPosts
  })

/** The replies each chat should get, in order. */
export const expectedReplies = (
  label: string,
  chats: ReadonlyArray<number>,
  from: number,
  to: number,
  into: Map<number, Array<string>> = new Map()
): Map<number, Array<string>> => {
  for (const chatId of chats) {
    const replies = into.get(chatId) ?? []
    for (let n = from; n <= to; n++) replies.push(replyText(label, chatId, n))
    into.set(chatId, replies)
  }
  return into
}

export interface ChatReport {
  readonly chatId: number
  /** Every text sent to the chat, repeats included, in the order Telegram got them. */
  readonly sent: ReadonlyArray<string>
  /** The sent texts with repeats dropped (first time each was seen). */
  readonly firstSeen: ReadonlyArray<string>
  readonly repeats: number
}

export interface DeliveryReport {
  readonly chats: ReadonlyArray<ChatReport>
  /** Expected replies not sent yet. */
  readonly missing: number
  /** Sends beyond the first of a text (only a send in flight at a crash may repeat). */
  readonly repeats: number
  readonly repeatedTexts: ReadonlyArray<string>
}

/** What the fake Telegram got for `expected`'s chats from one bot. */
export const deliveryReport = (
  telegram: FakeTelegram.FakeTelegramServer,
  telegramBotId: number,
  expected: ReadonlyMap<number, ReadonlyArray<string>>
): DeliveryReport => {
  const chats: Array<ChatReport> = []
  let missing = 0
  let repeats = 0
  const repeatedTexts: Array<string> = []
  for (const [chatId, replies] of expected) {
    const sent = telegram.sentTo(chatId, telegramBotId).map((message) => message.text)
    const firstSeen: Array<string> = []
    for (const text of sent) {
      if (firstSeen.includes(text)) repeatedTexts.push(text)
      else firstSeen.push(text)
    }
    for (const reply of replies) if (!firstSeen.includes(reply)) missing += 1
    repeats += sent.length - firstSeen.length
    chats.push({ chatId, sent, firstSeen, repeats: sent.length - firstSeen.length })
  }
  return { chats, missing, repeats, repeatedTexts }
}

/** Every chat got exactly its expected replies, in order (repeats are the caller's to judge). */
export const assertAnsweredInOrder = (
  report: DeliveryReport,
  expected: ReadonlyMap<number, ReadonlyArray<string>>
) => {
  assert.strictEqual(report.missing, 0, "every update answered")
  for (const chat of report.chats) {
    assert.deepStrictEqual(
      chat.firstSeen,
      expected.get(chat.chatId),
      `chat ${chat.chatId}: every reply, in order`
    )
  }
}

/** Waits until every expected reply reached the fake Telegram. */
export const waitForReplies = (
  telegram: FakeTelegram.FakeTelegramServer,
  telegramBotId: number,
  expected: ReadonlyMap<number, ReadonlyArray<string>>,
  timeoutMs: number
) =>
  Effect.promise(async () => {
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      if (deliveryReport(telegram, telegramBotId, expected).missing === 0) return
      await sleep(25)
    }
    const report = deliveryReport(telegram, telegramBotId, expected)
    const behind = report.chats
      .filter((chat) => chat.firstSeen.length < (expected.get(chat.chatId)?.length ?? 0))
      .map((chat) => `${chat.chatId}: ${chat.firstSeen.length}/${expected.get(chat.chatId)?.length}`)
    throw new Error(`${report.missing} replies still missing after ${timeoutMs} ms (${behind.join(", ")})`)
  })

/** Lets a repeat that is still on its way show up before counting. */
export const quietPeriod = (millis = 500) => Effect.promise(() => sleep(millis))

// --- HTTP checks ---

export const httpStatus = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    async (response) => {
      await response.arrayBuffer()
      return response.status
    },
    () => 0
  )

/** The process still serves: /health and /ready answer 200. */
export const assertServing = (baseUrl: string) =>
  Effect.promise(async () => {
    assert.strictEqual(await httpStatus(`${baseUrl}/health`), 200, "/health")
    assert.strictEqual(await httpStatus(`${baseUrl}/ready`), 200, "/ready")
  })

// --- /metrics ---

export const scrapeMetrics = (baseUrl: string) =>
  Effect.promise(() => fetch(`${baseUrl}/metrics`).then((response) => response.text()))

/** The sum of the samples of `name` whose labels include all of `labels` (0 when there is none). */
export const metricValue = (text: string, name: string, labels: Record<string, string> = {}): number => {
  let total = 0
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? ""
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1))
    }
  }
  return total
}

/** How much each of `series` moved between two scrapes. */
export const metricDeltas = <K extends string>(
  before: string,
  after: string,
  series: Record<K, readonly [name: string, labels: Record<string, string>]>
): Record<K, number> => {
  const deltas = {} as Record<K, number>
  for (const key of Object.keys(series) as Array<K>) {
    const [name, labels] = series[key]
    deltas[key] = metricValue(after, name, labels) - metricValue(before, name, labels)
  }
  return deltas
}

// --- what admins see in the database ---

export interface InboxState {
  readonly pending: number
  readonly done: number
  readonly failed: number
  /** Attempts beyond the first, over all updates: how often updates were rescheduled. */
  readonly reschedules: number
}

export const inboxState = (sql: SqlClient.SqlClient, botId: string) =>
  Effect.map(
    sql<InboxState>`
      SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
             count(*) FILTER (WHERE status = 'done')::int AS done,
             count(*) FILTER (WHERE status = 'failed')::int AS failed,
             coalesce(sum(greatest(attempts - 1, 0)) FILTER (WHERE status <> 'pending'), 0)::int AS reschedules
      FROM telegram_updates WHERE bot_id = ${botId}`,
    (rows) => rows[0]!
  ).pipe(Effect.orDie)

export interface ReplyState {
  readonly users: number
  readonly sent: number
  readonly pending: number
  readonly failed: number
  /** Replies whose error column is set. */
  readonly withError: number
}

export const replyState = (sql: SqlClient.SqlClient, botId: string) =>
  Effect.map(
    sql<ReplyState>`
      SELECT count(*) FILTER (WHERE role = 'user')::int AS users,
             count(*) FILTER (WHERE role = 'assistant' AND status = 'sent')::int AS sent,
             count(*) FILTER (WHERE role = 'assistant' AND status = 'pending')::int AS pending,
             count(*) FILTER (WHERE role = 'assistant' AND status = 'failed')::int AS failed,
             count(*) FILTER (WHERE role = 'assistant' AND error IS NOT NULL)::int AS "withError"
      FROM messages WHERE bot_id = ${botId}`,
    (rows) => rows[0]!
  ).pipe(Effect.orDie)

export const botState = (sql: SqlClient.SqlClient, botId: string) =>
  Effect.map(
    sql<{ active: boolean; lastError: string | null }>`
      SELECT active, last_error AS "lastError" FROM bots WHERE id = ${botId}`,
    (rows) => rows[0]!
  ).pipe(Effect.orDie)

/** Polls a query-based condition every 50 ms until it holds, or dies after `timeoutMs`. */
export const eventuallyQuery = <A, E, R>(
  check: Effect.Effect<A, E, R>,
  holds: (value: A) => boolean,
  timeoutMs: number,
  what: string
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const started = Date.now()
    let value = yield* check
    while (!holds(value)) {
      if (Date.now() - started > timeoutMs) {
        return yield* Effect.die(
          new Error(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`)
        )
      }
      yield* Effect.promise(() => sleep(50))
      value = yield* check
    }
    return value
  })

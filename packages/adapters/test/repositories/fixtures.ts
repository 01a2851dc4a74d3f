/** What the repository tests store: bots with every field set and ids no other test uses. */
import { Bot, BotId } from "@botfleet/domain"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

let counter = 0

/** A Telegram id (bot or user) unique across the test files sharing a database. */
export const uniqueTelegramId = () => 7_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000 + ++counter

export const storedBot = (fields: Partial<ConstructorParameters<typeof Bot>[0]> = {}) => {
  const telegramBotId = uniqueTelegramId()
  return new Bot({
    id: BotId.make(crypto.randomUUID()),
    name: `bot-${telegramBotId}`,
    tokenCiphertext: "v1:ciphertext",
    tokenHint: `${telegramBotId}:…abcd`,
    telegramBotId,
    username: `bot${telegramBotId}_bot`,
    webhookSecret: "secret",
    model: null,
    systemPrompt: "Be brief.",
    startMessage: "Hello",
    helpMessage: "Help",
    errorMessage: "Oops",
    historyLimit: 20,
    active: false,
    lastError: null,
    lastErrorAt: null,
    pollingOffset: 0,
    createdAt: new Date(Date.UTC(2025, 0, 1)),
    updatedAt: new Date(Date.UTC(2025, 0, 1)),
    ...fields
  })
}

/**
 * How many rows of `table` match `column = value`, and how many transactions
 * wrote them: rows written by one statement share its transaction id (`xmin`).
 */
export const writtenBy = (table: string, column: string, value: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ rows: number; transactions: number }>`
      SELECT count(*)::int AS rows, count(DISTINCT xmin::text)::int AS transactions
      FROM ${sql(table)} WHERE ${sql(column)} = ${value}`.pipe(Effect.map((found) => found[0]))
  )

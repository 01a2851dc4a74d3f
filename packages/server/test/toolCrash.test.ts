/**
 * A tool call survives a crash without being repeated: the server is killed
 * hard (SIGKILL) while a non-idempotent MCP tool is running, then started
 * again. The rerun finds the call stored as running, does not make it again
 * (the MCP server counts its calls), tells the model its outcome is unknown,
 * and the answer arrives once.
 */
import { randomUUID } from "node:crypto"
import { UNKNOWN_OUTCOME } from "@botfleet/application"
import { FakeMcpServer, FakeOpenAI, FakeTelegram, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { insertActiveBot } from "./support/directBot.ts"
import { eventually, eventuallyEffect, postUpdate, textUpdate } from "./support/inProcessServer.ts"
import { newSecretsKey, processEnv, processStorage } from "./support/processFixture.ts"
import { startServerProcess, waitUntilReady } from "./support/serverProcess.ts"

const SECRETS_KEY = newSecretsKey()

layer(processStorage(SECRETS_KEY), { timeout: 300_000, excludeTestServices: true })(
  "crash during a tool call",
  (it) => {
    it.effect(
      "SIGKILL while a non-idempotent tool runs, restart: 0 duplicate calls, the answer sent once",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const database = yield* TestDatabase.TestDatabase
            const sql = yield* SqlClient.SqlClient
            const telegram = yield* FakeTelegram.make()
            const openai = yield* FakeOpenAI.make({ record: false })
            // Long enough to die in the middle of it.
            const mcp = yield* FakeMcpServer.make({ slowMillis: 20_000 })
            yield* openai.setReply((request) => {
              const result = request.messages.find((message) => message.role === "tool")
              return result === undefined
                ? { content: null, toolCalls: [{ name: "slow_tool", arguments: {} }] }
                : `done: ${result.content}`
            })
            const { bot } = yield* insertActiveBot(telegram, "Actor")
            const serverId = randomUUID()
            const tools = [
              {
                name: "slow_tool",
                title: null,
                description: "Answers after a while",
                inputSchema: { type: "object" }
              }
            ]
            yield* sql`
            INSERT INTO mcp_servers (id, name, url, timeout_seconds, allowed_tools, tools, tools_refreshed_at, created_at, updated_at)
            VALUES (${serverId}, 'Actions', ${mcp.url}, 60, ${JSON.stringify(["slow_tool"])}::jsonb,
                    ${JSON.stringify(tools)}::jsonb, now(), now(), now())`.pipe(Effect.orDie)
            yield* sql`UPDATE bots SET mcp_server_ids = ${JSON.stringify([serverId])}::jsonb WHERE id = ${bot.id}`.pipe(
              Effect.orDie
            )

            const env = processEnv(database, telegram, openai, SECRETS_KEY)
            const first = yield* Effect.promise(() => startServerProcess(env))
            yield* Effect.promise(() => waitUntilReady(first, 120_000))
            const chatId = 960_001
            assert.strictEqual(
              (yield* postUpdate(first.baseUrl, bot, textUpdate(chatId, "do the thing"))).status,
              200
            )

            // The call is in flight at the MCP server: die now.
            yield* eventuallyEffect(
              Effect.map(mcp.toolCalls, (calls) => (calls.length > 0 ? calls : undefined)),
              30_000
            )
            const [running] = yield* sql<{ status: string }>`SELECT status FROM tool_calls`.pipe(Effect.orDie)
            assert.strictEqual(running?.status, "running", "stored before it ran")
            first.child.kill("SIGKILL")
            yield* Effect.promise(() => first.exited)
            assert.deepStrictEqual(telegram.sentTo(chatId), [], "killed before the answer")

            const second = yield* Effect.promise(() =>
              startServerProcess({ ...env, PORT: String(first.port) })
            )
            yield* Effect.promise(() => waitUntilReady(second, 120_000))
            // The dead process's chat lease runs out (15 s) before the new one takes the chat.
            yield* eventually(() => telegram.sentTo(chatId).length >= 1, 120_000)
            yield* Effect.sleep("1 second")
            second.child.kill("SIGTERM")
            yield* Effect.promise(() => second.exited)

            assert.strictEqual((yield* mcp.toolCalls).length, 1, "the non-idempotent call was not made again")
            assert.deepStrictEqual(
              telegram.sentTo(chatId).map((message) => message.text),
              [`done: error: ${UNKNOWN_OUTCOME}`],
              "one answer, told the outcome is unknown"
            )
            const [stored] = yield* sql<{ status: string; result: string }>`
            SELECT status, result FROM tool_calls`.pipe(Effect.orDie)
            assert.deepStrictEqual(stored, { status: "finished", result: UNKNOWN_OUTCOME })
          })
        ),
      300_000
    )
  }
)

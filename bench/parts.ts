/**
 * Each part of a reply alone: CPU per call of the adapters the pipeline uses,
 * in this process, against the fakes (their own process) and PostgreSQL. The
 * mixed scenario says how fast the whole is; this says which part costs what.
 * The `openai` SDK's own call is measured beside ours, to show why the hot
 * path does not use it (see chatCompletionsHttp.ts).
 */
import { LanguageModelOpenAI, TelegramGatewayHttp } from "@botfleet/adapters"
import { Database } from "@botfleet/adapters/postgres"
import { TelegramGateway } from "@botfleet/application"
import { Effect, Layer, Redacted, Stream } from "effect"
import { SqlClient } from "effect/sql"
import OpenAI from "openai"
import { type Row, startFakes, stopFakes } from "./harness.ts"

const CALLS = 2_000
const WARM_UP = 300

/** CPU (all threads of this process) and wall time per call, calls one after another. */
const measure = <E>(name: string, call: (i: number) => Effect.Effect<unknown, E>) =>
  Effect.gen(function* () {
    for (let i = 0; i < WARM_UP; i++) yield* call(i)
    const cpu = process.cpuUsage()
    const started = performance.now()
    for (let i = 0; i < CALLS; i++) yield* call(i)
    const used = process.cpuUsage(cpu)
    return {
      scenario: `6 parts: ${name}`,
      "CPU µs/call": Math.round((used.user + used.system) / CALLS),
      "wall µs/call": Math.round(((performance.now() - started) * 1000) / CALLS)
    } satisfies Row
  })

export const parts = async (databaseUrl: string): Promise<Array<Row>> => {
  const fakes = await startFakes(0)
  try {
    const telegramId = 700_000_001
    const token = `${telegramId}:AAbcdefghijklmnopqrstuvwxyz0123456789`
    await fetch(`${fakes.control}/register/${telegramId}/parts_bot/${encodeURIComponent(token)}`)
    const llm = LanguageModelOpenAI.make({
      apiKey: Redacted.make("sk-bench"),
      baseUrl: new URL(fakes.openaiBaseUrl),
      fallbackModel: undefined,
      prices: new Map()
    })
    // A stored provider's endpoint: its own client, on the outbound guard (OUTBOUND_PRIVATE_NETWORKS=allow).
    const provider = {
      providerId: "bench-provider",
      version: 1,
      baseUrl: fakes.openaiBaseUrl,
      apiKey: Redacted.make("sk-bench"),
      prices: {}
    }
    const sdk = new OpenAI({ apiKey: "sk-bench", baseURL: fakes.openaiBaseUrl, maxRetries: 0 })
    const request = {
      model: "gpt-4o-mini",
      messages: [{ role: "user" as const, content: "Hello there, how are you today?" }]
    }
    const text = "Hello! This is a reply of a usual length for a chat."
    return await Effect.runPromise(
      Effect.gen(function* () {
        const telegram = yield* TelegramGateway
        const sql = yield* SqlClient.SqlClient
        const bot = Redacted.make(token)
        const chatId = (i: number) => 1_000 + (i % 50)
        return [
          yield* measure("LLM answer (LanguageModelOpenAI.complete)", () => llm.complete(request)),
          yield* measure("LLM streamed answer (LanguageModelOpenAI.stream)", () =>
            Stream.runDrain(llm.stream(request))
          ),
          yield* measure("LLM answer on a provider (guarded client)", () =>
            llm.complete({ ...request, endpoint: provider })
          ),
          yield* measure("LLM answer, openai SDK alone (for comparison)", () =>
            Effect.promise(() => sdk.chat.completions.create(request))
          ),
          yield* measure("Telegram sendMessage", (i) =>
            telegram.sendMessage(bot, { chatId: chatId(i), text })
          ),
          yield* measure("Telegram sendMessageDraft", (i) =>
            telegram.sendMessageDraft(bot, { chatId: chatId(i), draftId: 1, text })
          ),
          yield* measure("PostgreSQL round trip (select 1)", () => sql`SELECT 1`)
        ]
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            TelegramGatewayHttp.layer({ apiRoot: new URL(fakes.telegramApiRoot) }),
            Database.clientLayer(Redacted.make(databaseUrl), 2)
          )
        ),
        Effect.orDie
      )
    )
  } finally {
    await stopFakes(fakes)
  }
}

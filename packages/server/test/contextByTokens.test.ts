/**
 * Context by tokens end to end, on the real server against a model with a
 * small context (FakeOpenAI refuses prompts past its window with OpenAI's
 * 400 `context_length_exceeded`): a long chat keeps answering, its older
 * turns are folded into one summary that leads the later requests and shows
 * in the transcript API; a message longer than the window is answered from
 * its start instead of failing.
 */
import { SUMMARY_LEAD, SUMMARY_PROMPT } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { loggedIn, withAdmin } from "./support/apiClient.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "./support/inProcessServer.ts"

const SUMMARY_TEXT = "Ann has been asking about fruit: apples, pears and plums."

const isSummary = (request: { readonly messages: ReadonlyArray<{ readonly content: string }> }) =>
  request.messages[0]?.content === SUMMARY_PROMPT

layer(serverLayer(withAdmin(), { recordLlmRequests: true }), { timeout: 120_000, excludeTestServices: true })(
  "context by tokens",
  (it) => {
    it.effect(
      "a long chat keeps answering: one summary appears, leads later requests and is shown to admins",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("LongChat")
          const patched = yield* api.patch(`/api/bots/${bot.id}`, { contextTokens: 1_200, streaming: false })
          assert.strictEqual(patched.status, 200, patched.text)
          assert.strictEqual((patched.body as { contextTokens: number }).contextTokens, 1_200)
          yield* server.openai.clear
          yield* server.openai.setContextWindow(1_000)
          yield* server.openai.setReply((request) =>
            request.messages[0]?.content === SUMMARY_PROMPT
              ? SUMMARY_TEXT
              : `re: ${request.messages.at(-1)?.content.slice(0, 200) ?? ""}`
          )
          const chatId = 770_001
          // About 60 tokens a question and as much again for its answer: 900 tokens fill in about eight turns.
          for (let n = 1; n <= 12; n++) {
            const text = `Question ${n} about fruit: ${"which apples, pears and plums keep best over the winter? ".repeat(3)}`
            assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, text))).status, 200)
            yield* settled(server, bot.id)
          }

          const sent = server.telegram.sentTo(chatId)
          assert.strictEqual(sent.length, 12, "every question answered")
          for (const [index, message] of sent.entries())
            assert.include(message.text, `Question ${index + 1} about`)
          assert.strictEqual(
            yield* server.openai.contextRefusals,
            0,
            "the budget kept every prompt within the window"
          )

          const requests = yield* server.openai.requests
          assert.strictEqual(requests.filter(isSummary).length, 1, "one summary in twelve turns")
          const afterSummary = requests.slice(requests.findIndex(isSummary) + 1)
          assert.isAtLeast(afterSummary.length, 2)
          for (const request of afterSummary) {
            assert.deepStrictEqual(request.messages[0], {
              role: "system",
              content: `${SUMMARY_LEAD}${SUMMARY_TEXT}`
            })
          }

          const chats = (yield* api.get(`/api/chats?botId=${bot.id}`)).body as {
            items: ReadonlyArray<{ id: string }>
          }
          const chat = chats.items[0]!.id
          const listed = yield* api.get(`/api/chats/${chat}/summaries`)
          assert.strictEqual(listed.status, 200, listed.text)
          const summaries = (listed.body as { items: ReadonlyArray<Record<string, unknown>> }).items
          assert.strictEqual(summaries.length, 1)
          assert.strictEqual(summaries[0]!.text, SUMMARY_TEXT)
          assert.strictEqual(summaries[0]!.model, "gpt-4o-mini")
          assert.isAbove(summaries[0]!.inputTokens as number, 0)
          // The summary covers a message of the transcript, older than the last question.
          const page = (yield* api.get(`/api/chats/${chat}/messages?limit=100`)).body as {
            items: ReadonlyArray<{ id: string; text: string }>
          }
          const covered = page.items.findIndex((message) => message.id === summaries[0]!.coversUpTo)
          assert.isAbove(covered, 1)
        })
    )

    it.effect(
      "a message longer than the model reads is cut and asked again within half the room, not failed",
      () =>
        Effect.gen(function* () {
          const server = yield* TestServer
          const api = yield* loggedIn(server.baseUrl)
          const { bot } = yield* server.addBot("LongMessage")
          // The admin thinks the model reads 2,000 tokens; it reads 1,000.
          assert.strictEqual((yield* api.patch(`/api/bots/${bot.id}`, { contextTokens: 2_000 })).status, 200)
          yield* server.openai.clear
          yield* server.openai.setContextWindow(1_000)
          yield* server.openai.setReply(
            (request) => `re: ${request.messages.at(-1)?.content.slice(0, 40) ?? ""}`
          )
          const chatId = 770_002
          const long = `START ${"every word of this letter matters to me, please read it all. ".repeat(600)}`
          assert.strictEqual((yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, long))).status, 200)
          yield* settled(server, bot.id)

          const sent = server.telegram.sentTo(chatId)
          assert.strictEqual(sent.length, 1)
          assert.isTrue(sent[0]!.text.startsWith("re: START every word"), sent[0]!.text)
          assert.strictEqual(yield* server.openai.contextRefusals, 1, "refused once, then answered")
          const requests = yield* server.openai.requests
          assert.strictEqual(requests.length, 2)
          assert.isBelow(
            requests[1]!.messages.at(-1)!.content.length,
            requests[0]!.messages.at(-1)!.content.length
          )
          const failed = yield* server.sql<{ n: number }>`
          SELECT count(*)::int AS n FROM messages WHERE bot_id = ${bot.id} AND status = 'failed'`
          assert.strictEqual(failed[0]!.n, 0)
        })
    )
  }
)

/**
 * The console in headless Chromium: a private chat's page shows what the bot
 * remembers about its user, and an operator deletes a note there (the API
 * then lists the rest).
 */
import { UserNotesPg } from "@botfleet/adapters"
import { UserNotes } from "@botfleet/application"
import { TelegramUserId, UserNote, UserNoteId } from "@botfleet/domain"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { ChatView, page as pageOf, UserNoteView } from "../../src/api/schemas.ts"
import { ADMIN, expectBody, loggedIn, withAdmin } from "../support/apiClient.ts"
import { browserContext, watchProblems } from "../support/browser.ts"
import {
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  textUpdate
} from "../support/inProcessServer.ts"

const USER = 933_001
const step = <A>(run: () => Promise<A>) => Effect.promise(run)

layer(serverLayer(withAdmin()), { timeout: 120_000, excludeTestServices: true })(
  "console: user notes",
  (it) => {
    it.effect("a private chat's page lists the bot's notes about the user; Delete removes one", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Rememberer")
        yield* postUpdate(server.baseUrl, bot, textUpdate(USER, "hello"))
        yield* settled(server, bot.id)
        const notes = [
          ["Prefers French", Date.UTC(2026, 0, 1)],
          ["Has a cat named Tom", Date.UTC(2026, 0, 2)]
        ] as const
        yield* UserNotes.use((store) =>
          Effect.forEach(
            notes,
            ([text, at]) =>
              store.add(
                new UserNote({
                  id: UserNoteId.make(crypto.randomUUID()),
                  botId: bot.id,
                  tgUserId: TelegramUserId.make(USER),
                  text,
                  createdAt: new Date(at)
                }),
                50
              ),
            { discard: true }
          )
        ).pipe(
          Effect.provide(
            UserNotesPg.layer.pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, server.sql)))
          )
        )
        const chats = expectBody(yield* api.get(`/api/chats?botId=${bot.id}`), 200, pageOf(ChatView))
        const chat = chats.items[0]!

        const browser = yield* browserContext
        const page = yield* step(() => browser.newPage())
        const problems = watchProblems(page)
        yield* step(async () => {
          await page.goto(`${server.baseUrl}/admin/sign-in`)
          await page.getByLabel("Email").fill(ADMIN.email)
          await page.getByLabel("Password").fill(ADMIN.password)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.getByRole("heading", { name: "Bots", level: 1 }).waitFor()
          await page.goto(`${server.baseUrl}/admin/chats/${chat.id}`)
          await page.getByRole("heading", { name: "What the bot remembers" }).waitFor()
          await page.getByText("Has a cat named Tom").waitFor()
          await page.getByText("Prefers French").waitFor()
          await page.getByRole("button", { name: 'Delete the note "Prefers French"' }).click()
          await page.getByText("Prefers French").waitFor({ state: "detached" })
        })
        const left = expectBody(
          yield* api.get(`/api/bots/${bot.id}/users/${USER}/notes`),
          200,
          Schema.Array(UserNoteView)
        )
        assert.deepStrictEqual(
          left.map((note) => note.text),
          ["Has a cat named Tom"]
        )
        assert.deepStrictEqual(problems, [], "no script errors and no CSP violations")
      })
    )
  }
)

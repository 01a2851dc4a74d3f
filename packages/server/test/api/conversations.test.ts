/**
 * Conversations through the admin API and the real server with the
 * wire-level fakes: the per-bot settings, and a group where only messages
 * meant for the bot are answered.
 */
import { unreadableReply } from "@botfleet/domain"
import { FakeTelegram } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { BotView } from "../../src/api/schemas.ts"
import { expectBody, expectError, loggedIn, makeClient, withAdmin } from "../support/apiClient.ts"
import {
  eventually,
  postUpdate,
  layer as serverLayer,
  settled,
  TestServer,
  telegramBot,
  textUpdate
} from "../support/inProcessServer.ts"

const GROUP = { id: -100_777, type: "supergroup", title: "Team" }
let nextUpdateId = 1
const voiceUpdate = (chatId: number, fileId: string, duration: number) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "Ann" },
      from: { id: chatId, is_bot: false, first_name: "Ann" },
      voice: { file_id: fileId, file_unique_id: `u-${fileId}`, duration, mime_type: "audio/ogg" }
    }
  }
}
const groupMessage = (text: string, more: Record<string, unknown> = {}) => {
  const updateId = nextUpdateId++
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: GROUP,
      from: { id: 42, is_bot: false, first_name: "Ann" },
      text,
      ...more
    }
  }
}

layer(serverLayer(withAdmin()), { timeout: 60_000, excludeTestServices: true })("conversations API", (it) => {
  it.effect(
    "groupMode, streaming, voice, vision: defaults, set on create and PATCH, a bad value is 400 and changes nothing",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const first = telegramBot(server.telegram, "Quiet")
        const created = expectBody(
          yield* api.post("/api/bots", { name: "Quiet", token: first.token }),
          201,
          BotView
        )
        assert.strictEqual(created.groupMode, "mention")

        const second = telegramBot(server.telegram, "Chatty")
        const chatty = expectBody(
          yield* api.post("/api/bots", { name: "Chatty", token: second.token, groupMode: "all" }),
          201,
          BotView
        )
        assert.strictEqual(chatty.groupMode, "all")

        const patched = expectBody(
          yield* api.patch(`/api/bots/${created.id}`, { groupMode: "off" }),
          200,
          BotView
        )
        assert.strictEqual(patched.groupMode, "off")
        assert.strictEqual(patched.name, "Quiet", "other fields stay")

        const bad = yield* api.patch(`/api/bots/${created.id}`, { groupMode: "sometimes" })
        assert.include(expectError(bad, 400, "invalid_request"), "body.groupMode:")
        const third = telegramBot(server.telegram, "Never")
        const refused = yield* api.post("/api/bots", { name: "Never", token: third.token, groupMode: "loud" })
        assert.include(expectError(refused, 400, "invalid_request"), "body.groupMode:")

        // vision: on by default, off by PATCH.
        assert.strictEqual(created.vision, true)
        assert.strictEqual(
          expectBody(yield* api.patch(`/api/bots/${created.id}`, { vision: false }), 200, BotView).vision,
          false
        )
        // voice: on by default, off by PATCH, not a boolean is 400.
        assert.strictEqual(created.voice, true)
        assert.strictEqual(
          expectBody(yield* api.patch(`/api/bots/${created.id}`, { voice: false }), 200, BotView).voice,
          false
        )
        assert.include(
          expectError(yield* api.patch(`/api/bots/${created.id}`, { voice: 1 }), 400, "invalid_request"),
          "body.voice:"
        )

        const reread = expectBody(yield* api.get(`/api/bots/${created.id}`), 200, BotView)
        assert.strictEqual(reread.groupMode, "off", "the refused PATCH changed nothing")
        const names = (yield* server.sql<{ name: string }>`SELECT name FROM bots`.pipe(Effect.orDie)).map(
          (row) => row.name
        )
        assert.notInclude(names, "Never")
      })
  )

  it.effect(
    "in a group only the mention is answered; the chatter before it reaches the model as context",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { bot } = yield* server.addBot("Grouped")
        const before = server.telegram.sentTo(GROUP.id).length
        for (const update of [
          groupMessage("who is in for lunch?"),
          groupMessage("me", { from: { id: 43, is_bot: false, first_name: "Bo" } }),
          groupMessage(`@${bot.username} pick a place`)
        ]) {
          assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
        }
        yield* settled(server, bot.id)
        const sent = yield* eventually(() => {
          const all = server.telegram.sentTo(GROUP.id).slice(before)
          return all.length >= 1 ? all : undefined
        })
        assert.strictEqual(sent.length, 1)

        const chats = (yield* api.get(`/api/chats?botId=${bot.id}`)).body as {
          items: ReadonlyArray<{ id: string; type: string }>
        }
        const chat = chats.items.find((item) => item.type === "supergroup")
        assert.isDefined(chat)
        const page = (yield* api.get(`/api/chats/${chat!.id}/messages`)).body as {
          items: ReadonlyArray<{ role: string; text: string; status: string }>
        }
        const stored = page.items.toReversed()
        assert.deepStrictEqual(
          stored.map((message) => [message.role, message.status]),
          [
            ["user", "received"],
            ["user", "received"],
            ["user", "received"],
            ["assistant", "sent"]
          ]
        )
        const replies = yield* server.sql<{ input_tokens: number }>`
        SELECT input_tokens FROM messages WHERE bot_id = ${bot.id} AND role = 'assistant'`.pipe(Effect.orDie)
        assert.strictEqual(replies.length, 1, "one model call for three messages")
      })
  )

  it.effect("streaming: a long answer grows as drafts, then arrives once as one message", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Streamer")
      const answer = Array.from({ length: 90 }, (_, i) => `word${i}`).join(" ")
      yield* server.openai.setReply(() => answer)
      // 30 pieces, 100 ms apart: about 3 s of writing. Drafts share the chat's one-a-second send
      // budget with the answer (a 1.5 s answer gets one draft, then the message), so it takes an
      // answer this long to show it growing.
      yield* server.openai.setStreamPace(100)
      const chatId = 910_001
      yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, "tell me a lot"))
      yield* settled(server, bot.id)
      yield* server.openai.setStreamPace(0)

      const drafts = server.telegram.drafts.filter((draft) => draft.chatId === chatId)
      assert.isAtLeast(drafts.length, 2, "the answer grew in several drafts")
      assert.isAtMost(drafts.length, 8, "at most one draft per 300 ms")
      assert.strictEqual(new Set(drafts.map((draft) => draft.draftId)).size, 1)
      for (const draft of drafts) assert.isTrue(answer.startsWith(draft.text))
      for (let i = 1; i < drafts.length; i++) {
        assert.isAtLeast(drafts[i]!.time - drafts[i - 1]!.time, 250, "drafts are spaced")
      }
      const sent = server.telegram.sentTo(chatId)
      assert.deepStrictEqual(
        sent.map((message) => message.text),
        [answer]
      )
      assert.isAtLeast(sent[0]!.time, drafts.at(-1)!.time, "the final message comes after the drafts")
    })
  )

  it.effect("streaming: Telegram without drafts (404) still gets the reply once, with typing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("OldServer")
      const answer = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ")
      yield* server.openai.setReply(() => answer)
      yield* server.openai.setStreamPace(50)
      server.telegram.failNext("sendMessageDraft", FakeTelegram.Fault.apiError(404, "Not Found"))
      const chatId = 910_002
      const typingBefore = server.telegram.chatActions.filter((action) => action.chatId === chatId).length
      yield* postUpdate(server.baseUrl, bot, textUpdate(chatId, "hello"))
      yield* settled(server, bot.id)
      yield* server.openai.setStreamPace(0)
      assert.deepStrictEqual(
        server.telegram.sentTo(chatId).map((message) => message.text),
        [answer]
      )
      assert.deepStrictEqual(
        server.telegram.drafts.filter((draft) => draft.chatId === chatId),
        []
      )
      assert.isAbove(
        server.telegram.chatActions.filter((action) => action.chatId === chatId).length,
        typingBefore
      )
      const stored = yield* server.sql<{ status: string }>`
        SELECT status FROM messages WHERE bot_id = ${bot.id} AND role = 'assistant'`.pipe(Effect.orDie)
      assert.deepStrictEqual(
        stored.map((row) => row.status),
        ["sent"]
      )
    })
  )

  it.effect("voice: a voice note is answered from its transcript; the API shows its kind and length", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const api = yield* loggedIn(server.baseUrl)
      const { bot } = yield* server.addBot("Listener")
      yield* server.openai.setReply((request) => `heard: ${request.messages.at(-1)?.content ?? ""}`)
      server.telegram.addFile("voice-e2e", new TextEncoder().encode("what is the capital of France"))
      // The transcription service fails once: the adapter retries it.
      yield* server.openai.failNextTranscription(503)
      const chatId = 920_001
      const update = voiceUpdate(chatId, "voice-e2e", 7)
      assert.strictEqual((yield* postUpdate(server.baseUrl, bot, update)).status, 200)
      yield* settled(server, bot.id)
      assert.deepStrictEqual(
        server.telegram.sentTo(chatId).map((message) => message.text),
        ["heard: what is the capital of France"]
      )
      const uploads = (yield* server.openai.transcriptions).filter((t) => t.fileName === "voice.oga")
      assert.strictEqual(uploads.length, 2, "one failed attempt, one that worked")
      assert.strictEqual(uploads[1]?.model, "gpt-4o-mini-transcribe")

      const chat = (
        (yield* api.get(`/api/chats?botId=${bot.id}`)).body as { items: ReadonlyArray<{ id: string }> }
      ).items[0]!
      const page = (yield* api.get(`/api/chats/${chat.id}/messages`)).body as {
        items: ReadonlyArray<{
          role: string
          kind: string
          mediaSeconds: number | null
          text: string
          costUsd: number
        }>
      }
      const incoming = page.items.find((message) => message.role === "user")
      assert.deepStrictEqual(
        { kind: incoming?.kind, mediaSeconds: incoming?.mediaSeconds, text: incoming?.text },
        { kind: "voice", mediaSeconds: 7, text: "what is the capital of France" }
      )
      assert.isAbove(incoming?.costUsd ?? 0, 0)
    })
  )

  it.effect(
    "voice: a file that 404s at download gets a clear reply, nothing transcribed, the message kept",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const { bot } = yield* server.addBot("Deaf")
        server.telegram.addFile("voice-lost", null)
        const before = (yield* server.openai.transcriptions).length
        const chatId = 920_002
        yield* postUpdate(server.baseUrl, bot, voiceUpdate(chatId, "voice-lost", 3))
        yield* settled(server, bot.id)
        assert.deepStrictEqual(
          server.telegram.sentTo(chatId).map((message) => message.text),
          [unreadableReply("voice")]
        )
        assert.strictEqual((yield* server.openai.transcriptions).length, before)
        const stored = yield* server.sql<{ kind: string; status: string }>`
        SELECT kind, status FROM messages WHERE bot_id = ${bot.id} ORDER BY created_at`.pipe(Effect.orDie)
        assert.deepStrictEqual(
          stored.map((row) => [row.kind, row.status]),
          [
            ["voice", "received"],
            ["text", "sent"]
          ]
        )
      })
  )

  it.effect(
    "command menu: enabling a bot sets start, help, new, retry, mode, memory and usage through the outbox",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const api = yield* loggedIn(server.baseUrl)
        const { token } = telegramBot(server.telegram, "Menu")
        const bot = expectBody(yield* api.post("/api/bots", { name: "Menu", token }), 201, BotView)
        assert.strictEqual(server.telegram.commandsOf(token), null, "a disabled bot has no menu")
        expectBody(yield* api.post(`/api/bots/${bot.id}/enable`), 200, BotView)
        const menu = yield* eventually(() => server.telegram.commandsOf(token) ?? undefined)
        assert.deepStrictEqual(
          menu.map((entry) => entry.command),
          // /refresh is still understood, but /new stands for it in the menu.
          ["start", "help", "new", "retry", "mode", "memory", "usage"]
        )
        for (const entry of menu) assert.isAbove(entry.description.length, 0)
      })
  )

  it.effect("photos: a photo with 'what is this?' reaches the model as an image_url part", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const { bot } = yield* server.addBot("Looker")
      const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
      server.telegram.addFile("photo-large", jpeg, "photos/file_9.jpg")
      yield* server.openai.setReply((request) => {
        const last = request.messages.at(-1)
        return `saw ${last?.images?.length ?? 0} image(s) and "${last?.content ?? ""}": ${last?.images?.[0] ?? ""}`
      })
      const chatId = 930_001
      const updateId = nextUpdateId++
      yield* postUpdate(server.baseUrl, bot, {
        update_id: updateId,
        message: {
          message_id: updateId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private", first_name: "Ann" },
          from: { id: chatId, is_bot: false, first_name: "Ann" },
          caption: "what is this?",
          photo: [
            { file_id: "photo-small", file_unique_id: "s", width: 90, height: 90, file_size: 500 },
            { file_id: "photo-large", file_unique_id: "l", width: 800, height: 800, file_size: jpeg.length }
          ]
        }
      })
      yield* settled(server, bot.id)
      assert.deepStrictEqual(
        server.telegram.sentTo(chatId).map((message) => message.text),
        [`saw 1 image(s) and "what is this?": data:image/jpeg;base64,${Buffer.from(jpeg).toString("base64")}`]
      )
      const stored = yield* server.sql<{ kind: string; text: string }>`
        SELECT kind, text FROM messages WHERE bot_id = ${bot.id} AND role = 'user'`.pipe(Effect.orDie)
      assert.deepStrictEqual(stored, [{ kind: "photo", text: "[photo] what is this?" }])
    })
  )

  it.effect("/openapi.json documents the new bot settings and message fields", () =>
    Effect.gen(function* () {
      const server = yield* TestServer
      const response = yield* makeClient(server.baseUrl).get("/openapi.json")
      assert.strictEqual(response.status, 200)
      for (const field of ["groupMode", "streaming", "voice", "vision", "mediaSeconds", "senderName"]) {
        assert.include(response.text, `"${field}"`, field)
      }
      for (const mode of ["mention", "all", "off"]) assert.include(response.text, `"${mode}"`)
      assert.include(response.text, '"video_note"')
    })
  )

  it.effect(
    "/metrics counts transcriptions, seconds of audio and draft updates (after the tests above)",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const text = yield* Effect.promise(() => fetch(`${server.baseUrl}/metrics`).then((r) => r.text()))
        const metric = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN)
        assert.isAtLeast(metric(/^transcription_requests_total\{[^}]*outcome="ok"[^}]*\} (\S+)$/m), 1)
        assert.isAtLeast(metric(/^transcription_audio_seconds_total\{[^}]*\} (\S+)$/m), 7)
        assert.isAtLeast(metric(/^transcription_errors_total\{[^}]*kind="download"[^}]*\} (\S+)$/m), 1)
        assert.isAtLeast(metric(/^telegram_draft_updates_total\{[^}]*outcome="ok"[^}]*\} (\S+)$/m), 2)
        assert.isAtLeast(metric(/^telegram_draft_updates_total\{[^}]*outcome="refused"[^}]*\} (\S+)$/m), 1)
      })
  )
})

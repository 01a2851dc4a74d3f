import net from "node:net"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { BotApiError } from "../../src/telegramGateway/botApiHttp.ts"
import * as LongPoll from "../../src/telegramGateway/longPollHttp.ts"

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

interface Request {
  readonly head: string
  readonly body: string
  /** Which connection (0, 1, ...) it came on. */
  readonly connection: number
}

/** How the scripted server answers a request: raw bytes written to the socket. */
type Answer = (socket: net.Socket, request: Request) => void

/** A raw HTTP/1.1 server whose answers each test scripts byte by byte. */
class RawServer extends Context.Service<
  RawServer,
  {
    readonly root: string
    readonly requests: Array<Request>
    /** Whether a connection (by its number) has closed, by either side. */
    readonly isClosed: (connection: number) => boolean
    answer: Answer
  }
>()("test/RawServer") {}

const json = (status: number, payload: unknown, extra = "") => {
  const body = JSON.stringify(payload)
  return `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`
}

const RawServerLive = Layer.effect(
  RawServer,
  Effect.acquireRelease(
    Effect.callback<RawServer["Service"]>((resume) => {
      const requests: Array<Request> = []
      let connections = 0
      const closed = new Set<number>()
      const sockets = new Set<net.Socket>()
      const state: RawServer["Service"] & { server?: net.Server } = {
        root: "",
        requests,
        isClosed: (connection) => closed.has(connection),
        answer: (socket) => socket.end(json(200, { ok: true, result: [] }))
      }
      const server = net.createServer((socket) => {
        const connection = connections++
        sockets.add(socket)
        socket.on("close", () => {
          closed.add(connection)
          sockets.delete(socket)
        })
        socket.on("error", () => {})
        let buffered = Buffer.alloc(0)
        socket.on("data", (data) => {
          buffered = Buffer.concat([buffered, data])
          const end = buffered.indexOf("\r\n\r\n")
          if (end === -1) return
          const head = buffered.toString("latin1", 0, end)
          const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
          if (buffered.length < end + 4 + length) return
          const request = { head, body: buffered.toString("utf8", end + 4, end + 4 + length), connection }
          buffered = buffered.subarray(end + 4 + length)
          requests.push(request)
          state.answer(socket, request)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as net.AddressInfo
        resume(
          Effect.succeed(Object.assign(state, { root: `http://127.0.0.1:${address.port}/`, server, sockets }))
        )
      })
    }),
    (state) =>
      Effect.callback<void>((resume) => {
        const { server, sockets } = state as { server?: net.Server; sockets?: Set<net.Socket> }
        server?.close(() => resume(Effect.void))
        for (const socket of sockets ?? []) socket.destroy()
      })
  )
)

/** A fresh server script and client per test. */
const setup = (answer: Answer) =>
  Effect.gen(function* () {
    const server = yield* RawServer
    server.requests.length = 0
    server.answer = answer
    const client = LongPoll.make(server.root)
    yield* Effect.addFinalizer(() => Effect.sync(client.close))
    return { server, client }
  })

const REPEAT: LongPoll.Repeat = { payload: { offset: 0, timeout: 50 }, answerMillis: 60_000 }

const settled = (promise: Promise<unknown>) =>
  Effect.promise(() =>
    promise.then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error })
    )
  )

const poll = (client: LongPoll.LongPoll, signal = new AbortController().signal) =>
  Effect.promise(() =>
    client.getUpdates(TOKEN, { offset: 7, timeout: 50 }, signal, 60_000, null).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error })
    )
  )

const waitFor = (check: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !check(); i++) yield* Effect.sleep("10 millis")
    assert.isTrue(check(), "condition not met within 2 s")
  })

layer(Layer.fresh(RawServerLive), { excludeTestServices: true })("longPollHttp", (it) => {
  it.effect("a content-length answer: the result, the request as Telegram expects it, one socket kept", () =>
    Effect.gen(function* () {
      const { server, client } = yield* setup((socket) =>
        socket.write(json(200, { ok: true, result: [{ update_id: 7 }] }))
      )
      const first = yield* poll(client)
      assert.deepStrictEqual(first, { ok: true, result: [{ update_id: 7 }] })
      const second = yield* poll(client)
      assert.isTrue(second.ok)
      const [request] = server.requests
      assert.match(request!.head, new RegExp(`^POST /bot${TOKEN}/getUpdates HTTP/1\\.1\\r\\n`))
      assert.match(request!.head, /\r\ncontent-type: application\/json\r\n/)
      assert.deepStrictEqual(JSON.parse(request!.body), { offset: 7, timeout: 50 })
      // Kept alive: the second poll came on the first one's socket.
      assert.deepStrictEqual(
        server.requests.map((r) => r.connection),
        [request!.connection, request!.connection]
      )
    })
  )

  it.effect("a chunked answer split across writes, sizes and lines cut anywhere", () =>
    Effect.gen(function* () {
      const body = JSON.stringify({ ok: true, result: [{ update_id: 1, message: { text: "héllo" } }] })
      const bytes = Buffer.from(body)
      const wire = Buffer.concat([
        Buffer.from(
          "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n"
        ),
        Buffer.from(`${(10).toString(16)};ext=1\r\n`),
        bytes.subarray(0, 10),
        Buffer.from(`\r\n${(bytes.length - 10).toString(16)}\r\n`),
        bytes.subarray(10),
        Buffer.from("\r\n0\r\nx-trailer: y\r\n\r\n")
      ])
      const { server, client } = yield* setup((socket) => {
        // Three bytes at a time: every boundary lands inside a head, a size line or a chunk.
        let at = 0
        const next = () => {
          if (at >= wire.length) return
          socket.write(wire.subarray(at, at + 3))
          at += 3
          setImmediate(next)
        }
        next()
      })
      const answer = yield* poll(client)
      assert.deepStrictEqual(answer, { ok: true, result: [{ update_id: 1, message: { text: "héllo" } }] })
      // The chunked answer ended cleanly, so its socket serves the next poll.
      yield* poll(client)
      assert.deepStrictEqual(
        server.requests.map((r) => r.connection),
        [server.requests[0]!.connection, server.requests[0]!.connection]
      )
    })
  )

  it.effect("409, 401 and 429 are API errors with their code, description and parameters", () =>
    Effect.gen(function* () {
      const answers = [
        json(409, { ok: false, error_code: 409, description: "Conflict: webhook is active" }),
        json(401, { ok: false, error_code: 401, description: "Unauthorized" }),
        json(429, { ok: false, error_code: 429, description: "Too Many", parameters: { retry_after: 3 } })
      ]
      const { client } = yield* setup((socket) => socket.write(answers.shift()!))
      for (const [code, description] of [
        [409, "Conflict: webhook is active"],
        [401, "Unauthorized"],
        [429, "Too Many"]
      ] as const) {
        const answer = yield* poll(client)
        assert.isFalse(answer.ok)
        const error = (answer as { error: unknown }).error
        assert.instanceOf(error, BotApiError)
        assert.strictEqual((error as BotApiError).code, code)
        assert.strictEqual((error as BotApiError).description, description)
        assert.strictEqual((error as BotApiError).method, "getUpdates")
        if (code === 429) assert.deepStrictEqual((error as BotApiError).parameters, { retry_after: 3 })
      }
    })
  )

  it.effect("an answer that is not the API's JSON is an error with the HTTP status", () =>
    Effect.gen(function* () {
      const { client } = yield* setup((socket) =>
        socket.write("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 5\r\n\r\noops!")
      )
      const answer = yield* poll(client)
      assert.isFalse(answer.ok)
      const error = (answer as { error: unknown }).error as BotApiError
      assert.instanceOf(error, BotApiError)
      assert.strictEqual(error.code, 502)
      assert.strictEqual(error.description, "Bad Gateway")
    })
  )

  it.effect("a socket closed mid-answer fails the poll as cut off; the next poll opens a new one", () =>
    Effect.gen(function* () {
      let first = true
      const { server, client } = yield* setup((socket) => {
        if (first) {
          first = false
          // Half a head, then the connection drops (a restart, a proxy cutting idle polls).
          socket.write("HTTP/1.1 200 OK\r\ncontent-le")
          setTimeout(() => socket.destroy(), 20)
          return
        }
        socket.write(json(200, { ok: true, result: [] }))
      })
      const cut = yield* poll(client)
      assert.isFalse(cut.ok)
      assert.match(String((cut as { error: Error }).error.message), /cut off/)
      assert.notInclude(String((cut as { error: Error }).error.message), TOKEN)
      const next = yield* poll(client)
      assert.deepStrictEqual(next, { ok: true, result: [] })
      assert.notStrictEqual(server.requests[1]!.connection, server.requests[0]!.connection)
    })
  )

  it.effect("a refused connection fails the poll with the socket's own error", () =>
    Effect.gen(function* () {
      const free = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            const probe = net.createServer().listen(0, "127.0.0.1", () => {
              const { port } = probe.address() as net.AddressInfo
              probe.close(() => resolve(port))
            })
          })
      )
      const client = LongPoll.make(`http://127.0.0.1:${free}/`)
      const answer = yield* poll(client)
      client.close()
      assert.isFalse(answer.ok)
      assert.match(String((answer as { error: Error }).error.message), /ECONNREFUSED/)
    })
  )

  it.effect("a body cut short of its content-length fails the poll", () =>
    Effect.gen(function* () {
      const { client } = yield* setup((socket) => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"ok":true')
        setTimeout(() => socket.destroy(), 20)
      })
      const cut = yield* poll(client)
      assert.isFalse(cut.ok)
      assert.match(String((cut as { error: Error }).error.message), /cut off/)
    })
  )

  it.effect("`connection: close` and an answer without a length: read to the end, then a new socket", () =>
    Effect.gen(function* () {
      const { server, client } = yield* setup((socket) =>
        socket.end(`HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${JSON.stringify({ ok: true, result: [1] })}`)
      )
      assert.deepStrictEqual(yield* poll(client), { ok: true, result: [1] })
      assert.deepStrictEqual(yield* poll(client), { ok: true, result: [1] })
      assert.notStrictEqual(server.requests[1]!.connection, server.requests[0]!.connection)
    })
  )

  it.effect("shutdown during a held poll: the abort fails it at once and closes its socket", () =>
    Effect.gen(function* () {
      // Never answers, as Telegram holding a poll.
      const { server, client } = yield* setup(() => {})
      const controller = new AbortController()
      const held = client.getUpdates(TOKEN, { offset: 0, timeout: 50 }, controller.signal, 60_000, null)
      yield* waitFor(() => server.requests.length === 1)
      const started = Date.now()
      controller.abort()
      const error = yield* Effect.promise(() =>
        held.then(
          () => undefined,
          (e: Error) => e
        )
      )
      assert.instanceOf(error, Error)
      assert.isBelow(Date.now() - started, 500)
      yield* waitFor(() => server.isClosed(server.requests[0]!.connection))
    })
  )

  it.effect("close() closes kept-alive sockets and fails held polls", () =>
    Effect.gen(function* () {
      let answered = false
      const { server, client } = yield* setup((socket) => {
        // The first poll is answered and its socket kept; the second (another bot) is held.
        if (!answered) {
          answered = true
          socket.write(json(200, { ok: true, result: [] }))
        }
      })
      assert.isTrue((yield* poll(client)).ok)
      const held = client.getUpdates("42:other", { offset: 0 }, new AbortController().signal, 60_000, null)
      yield* waitFor(() => server.requests.length === 2)
      client.close()
      const error = yield* Effect.promise(() =>
        held.then(
          () => undefined,
          (e: Error) => e
        )
      )
      assert.match(String(error?.message), /cut off/)
      assert.notStrictEqual(server.requests[1]!.connection, server.requests[0]!.connection)
      yield* waitFor(() => server.requests.every((request) => server.isClosed(request.connection)))
    })
  )

  it.effect("untilUpdates: empty answers are asked again on the same socket; the first updates return", () =>
    Effect.gen(function* () {
      let answers = 0
      const { server, client } = yield* setup((socket) => {
        answers++
        // Telegram's own empty answer, then one with other spacing, then updates.
        if (answers === 1) socket.write(json(200, { ok: true, result: [] }))
        else if (answers === 2)
          socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 31\r\n\r\n{ "ok" : true, "result" : [ ] }`)
        else socket.write(json(200, { ok: true, result: [{ update_id: 9 }] }))
      })
      const answer = yield* settled(
        client.getUpdates(TOKEN, { offset: 9, timeout: 7 }, new AbortController().signal, 60_000, {
          payload: { offset: 9, timeout: 50 },
          answerMillis: 60_000
        })
      )
      assert.deepStrictEqual(answer, { ok: true, result: [{ update_id: 9 }] })
      // The first request, then the repeat request, all on the one kept-alive socket.
      assert.deepStrictEqual(
        server.requests.map((request) => JSON.parse(request.body)),
        [
          { offset: 9, timeout: 7 },
          { offset: 9, timeout: 50 },
          { offset: 9, timeout: 50 }
        ]
      )
      for (const request of server.requests)
        assert.strictEqual(request.connection, server.requests[0]!.connection)
    })
  )

  it.effect("untilUpdates: an error after empty answers fails the poll with the API's error", () =>
    Effect.gen(function* () {
      let answers = 0
      const { server, client } = yield* setup((socket) => {
        answers++
        socket.write(
          answers < 3
            ? json(200, { ok: true, result: [] })
            : json(401, { ok: false, error_code: 401, description: "Unauthorized" })
        )
      })
      const answer = yield* settled(
        client.getUpdates(TOKEN, { offset: 0, timeout: 50 }, new AbortController().signal, 60_000, REPEAT)
      )
      assert.isFalse(answer.ok)
      const error = (answer as { error: unknown }).error as BotApiError
      assert.instanceOf(error, BotApiError)
      assert.strictEqual(error.code, 401)
      assert.strictEqual(server.requests.length, 3)
    })
  )

  it.effect("without untilUpdates an empty answer returns at once", () =>
    Effect.gen(function* () {
      const { server, client } = yield* setup((socket) => socket.write(json(200, { ok: true, result: [] })))
      assert.deepStrictEqual(yield* poll(client), { ok: true, result: [] })
      assert.strictEqual(server.requests.length, 1)
    })
  )

  it.effect("a request with no answer within answerMillis fails and closes its socket", () =>
    Effect.gen(function* () {
      let answers = 0
      // One empty answer, then silence: the repeat request has its own deadline (the first's is 60 s).
      const { server, client } = yield* setup((socket) => {
        if (answers++ === 0) socket.write(json(200, { ok: true, result: [] }))
      })
      const started = Date.now()
      const answer = yield* settled(
        client.getUpdates(TOKEN, { offset: 0, timeout: 50 }, new AbortController().signal, 60_000, {
          payload: { offset: 0, timeout: 50 },
          answerMillis: 150
        })
      )
      assert.isFalse(answer.ok)
      assert.match(String((answer as { error: Error }).error.message), /no answer within 150 ms/)
      assert.strictEqual(server.requests.length, 2)
      assert.isAtLeast(Date.now() - started, 140)
      yield* waitFor(() => server.isClosed(server.requests[0]!.connection))
    })
  )

  it.effect("shutdown during a repeated poll: the abort fails it at once", () =>
    Effect.gen(function* () {
      let answers = 0
      const { server, client } = yield* setup((socket) => {
        if (answers++ === 0) socket.write(json(200, { ok: true, result: [] }))
      })
      const controller = new AbortController()
      const held = settled(
        client.getUpdates(TOKEN, { offset: 0, timeout: 50 }, controller.signal, 60_000, REPEAT)
      )
      yield* waitFor(() => server.requests.length === 2)
      const started = Date.now()
      controller.abort()
      const answer = yield* held
      assert.isFalse(answer.ok)
      assert.match(String((answer as { error: Error }).error.message), /aborted/)
      assert.isBelow(Date.now() - started, 500)
      yield* waitFor(() => server.isClosed(server.requests[0]!.connection))
    })
  )
})

/**
 * The lean chat completions client against a raw local server, for what the
 * fake OpenAI does not do on its own: events split anywhere across reads,
 * errors inside a stream, a stream cut off, non-JSON error bodies, and
 * sockets kept for the next request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { APIConnectionError, APIError } from "openai"
import {
  createCompletion,
  endpoint,
  openCompletionStream,
  type StreamBody
} from "../../src/languageModel/chatCompletionsHttp.ts"

const servers: Array<Server> = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    })
  )
})

/** A server answering every request with `handle`; counts the connections it accepted. */
const serve = async (handle: (request: IncomingMessage, response: ServerResponse) => void) => {
  const server = createServer(handle)
  const state = { connections: 0 }
  server.on("connection", () => state.connections++)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return { target: endpoint(`http://127.0.0.1:${port}/v1`, "sk-test"), state }
}

const body: StreamBody = { model: "m", messages: [{ role: "user", content: "hi" }], stream: true }
const chunk = (content: string) =>
  JSON.stringify({
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: null }]
  })

const readAll = async (target: ReturnType<typeof endpoint>) => {
  const stream = await openCompletionStream(target, body, new AbortController().signal, 5_000)
  let text = ""
  for await (const batch of stream) for (const piece of batch) text += piece.choices[0]?.delta.content ?? ""
  return text
}

describe("chatCompletionsHttp", () => {
  it("reads events split anywhere across reads, with CRLF line ends", async () => {
    const events = `data: ${chunk("Hel")}\r\n\r\ndata: ${chunk("lo")}\r\n\r\ndata: [DONE]\r\n\r\n`
    const { target } = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      // Seven bytes at a time: lines and JSON cut in the middle.
      let at = 0
      const next = () => {
        if (at >= events.length) return response.end()
        response.write(events.slice(at, at + 7))
        at += 7
        setImmediate(next)
      }
      next()
    })
    assert.strictEqual(await readAll(target), "Hello")
  })

  it("keeps sockets for the next answer instead of opening one per answer", async () => {
    const lengths: Array<string | undefined> = []
    const { target, state } = await serve((request, response) => {
      lengths.push(request.headers["content-length"])
      request.resume()
      request.on("end", () => {
        response.writeHead(200)
        response.end(`data: ${chunk("ok")}\n\ndata: [DONE]\n\n`)
      })
    })
    for (let i = 0; i < 10; i++) assert.strictEqual(await readAll(target), "ok")
    // A socket is back in the pool once its response has ended, which may be just after [DONE]
    // was read: the next answer may open a second one, never one each.
    assert.isAtMost(state.connections, 2)
    // Sent with a length, not chunked.
    assert.deepStrictEqual(lengths, Array(10).fill(String(Buffer.byteLength(JSON.stringify(body)))))
  })

  it("an error event inside a stream fails it with the server's message", async () => {
    const { target } = await serve((_request, response) => {
      response.writeHead(200)
      response.end(
        `data: ${chunk("par")}\n\ndata: {"error":{"message":"overloaded mid-answer","type":"server_error"}}\n\n`
      )
    })
    const error = await readAll(target).catch((cause: unknown) => cause)
    assert.instanceOf(error, APIError)
    assert.include((error as APIError).message, "overloaded mid-answer")
  })

  it("a stream cut off before [DONE] fails as a connection error", async () => {
    const { target } = await serve((_request, response) => {
      response.writeHead(200)
      response.write(`data: ${chunk("par")}\n\n`)
      setTimeout(() => response.socket?.destroy(), 20)
    })
    const error = await readAll(target).catch((cause: unknown) => cause)
    assert.instanceOf(error, APIConnectionError)
  })

  it("a non-JSON error body becomes the error's message, with its status", async () => {
    const { target } = await serve((_request, response) => {
      response.writeHead(502, { "retry-after": "3" })
      response.end("Bad Gateway from the proxy")
    })
    const error = await createCompletion(
      target,
      { model: "m", messages: [{ role: "user", content: "hi" }] },
      new AbortController().signal,
      5_000
    ).catch((cause: unknown) => cause)
    assert.instanceOf(error, APIError)
    assert.strictEqual((error as APIError).status, 502)
    assert.include((error as APIError).message, "Bad Gateway from the proxy")
    assert.strictEqual((error as APIError).headers?.get("retry-after"), "3")
  })
})

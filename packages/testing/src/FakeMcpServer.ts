/**
 * A real MCP server for tests: `effect/ai`'s McpServer speaking Streamable
 * HTTP on 127.0.0.1, with a few tools whose behaviour tests can count on:
 * `lookup_order` answers, `broken_tool` reports a tool error, `slow_tool`
 * answers only after `slowMillis`. It records every HTTP request (method and
 * headers) and every tool call, and with `requiredHeaders` answers 401 to a
 * request without them, as a server behind a bearer token does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Effect, Layer, Schema, type Scope } from "effect"
import { McpProtocol, McpServer, Tool, Toolkit } from "effect/ai"
import { HttpRouter } from "effect/http"

export interface RecordedHttpRequest {
  readonly method: string
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>
}

export interface RecordedToolCall {
  readonly name: string
  readonly arguments: unknown
}

export interface FakeMcpServer {
  /** The Streamable HTTP endpoint. */
  readonly url: string
  readonly requests: Effect.Effect<ReadonlyArray<RecordedHttpRequest>>
  readonly toolCalls: Effect.Effect<ReadonlyArray<RecordedToolCall>>
}

export interface FakeMcpServerOptions {
  /** Header names (lower case) and the values every request must carry, else 401. */
  readonly requiredHeaders?: Readonly<Record<string, string>> | undefined
  /** How long `slow_tool` takes; default 5 seconds. */
  readonly slowMillis?: number | undefined
}

export const TOOL_NAMES = ["lookup_order", "broken_tool", "slow_tool"] as const

const LookupOrder = Tool.make("lookup_order", {
  description: "Finds an order by its number and says where it is",
  parameters: Schema.Struct({ number: Schema.String }),
  success: Schema.String
})

const BrokenTool = Tool.make("broken_tool", {
  description: "Always fails",
  parameters: Tool.EmptyParams,
  success: Schema.String,
  failure: Schema.String
})

const SlowTool = Tool.make("slow_tool", {
  description: "Answers after a while",
  parameters: Tool.EmptyParams,
  success: Schema.String
})

const Tools = Toolkit.make(LookupOrder, BrokenTool, SlowTool)

const readBody = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

export const make = (options: FakeMcpServerOptions = {}): Effect.Effect<FakeMcpServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const requests: Array<RecordedHttpRequest> = []
    const toolCalls: Array<RecordedToolCall> = []
    const slowMillis = options.slowMillis ?? 5000

    const handlers = Tools.toLayer({
      lookup_order: ({ number }) =>
        Effect.sync(() => {
          toolCalls.push({ name: "lookup_order", arguments: { number } })
          return `Order ${number} has shipped and arrives on Friday.`
        }),
      broken_tool: () =>
        Effect.suspend(() => {
          toolCalls.push({ name: "broken_tool", arguments: {} })
          return Effect.fail("the order system is down")
        }),
      slow_tool: () =>
        Effect.suspend(() => {
          toolCalls.push({ name: "slow_tool", arguments: {} })
          return Effect.as(Effect.sleep(slowMillis), "done at last")
        })
    })

    const app = McpServer.layerHttp({
      name: "fake-mcp",
      version: "1.0.0",
      path: "/mcp",
      protocols: [McpProtocol.v2025_11_25, McpProtocol.v2026_07_28],
      registrations: McpServer.toolkit(Tools).pipe(Layer.provide(handlers))
    })
    const web = yield* Effect.acquireRelease(
      Effect.sync(() => HttpRouter.toWebHandler(app, { disableLogger: true })),
      (web) => Effect.promise(() => web.dispose())
    )

    const handle = async (request: IncomingMessage, response: ServerResponse) => {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
      }
      requests.push({ method: request.method ?? "GET", headers })
      const body = await readBody(request)
      const required = Object.entries(options.requiredHeaders ?? {})
      if (required.some(([name, value]) => headers[name] !== value)) {
        response.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" })
        return response.end(JSON.stringify({ error: "unauthorized" }))
      }
      const answer = await web.handler(
        new Request(`http://127.0.0.1${request.url ?? "/"}`, {
          method: request.method ?? "GET",
          headers,
          ...(body.byteLength === 0 ? {} : { body })
        })
      )
      response.writeHead(answer.status, Object.fromEntries(answer.headers.entries()))
      if (answer.body === null) return response.end()
      for await (const chunk of answer.body) response.write(chunk)
      response.end()
    }

    const server = createServer((request, response) => {
      handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500)
        response.end()
      })
    })
    server.on("clientError", (_error, socket) => socket.destroy())

    const port = yield* Effect.acquireRelease(
      Effect.callback<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )

    return {
      url: `http://127.0.0.1:${port}/mcp`,
      requests: Effect.sync(() => requests.slice()),
      toolCalls: Effect.sync(() => toolCalls.slice())
    }
  })

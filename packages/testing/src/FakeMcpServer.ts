/**
 * A real MCP server for tests: `effect/ai`'s McpServer speaking Streamable
 * HTTP on 127.0.0.1, with a few tools whose behaviour tests can count on:
 * `lookup_order` answers, `broken_tool` reports a tool error, `slow_tool`
 * answers only after `slowMillis`. It records every HTTP request (method and
 * headers) and every tool call, and with `requiredHeaders` answers 401 to a
 * request without them, as a server behind a bearer token does.
 *
 * Its tool list can change while it runs, as a real server's does: `addTool`
 * registers a tool through McpServer's own `addTool`, and `setHidden` hides or
 * shows the built-in ones; both make the server announce
 * `notifications/tools/list_changed` to whoever listens (a 2026-07-28
 * `subscriptions/listen` stream, or a request in flight). `unlock_tools`
 * (with `unlockTool`) adds `unlocked_tool` itself, so the announcement reaches
 * the caller inside the answer to its own call.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { McpProtocol, McpSchema, McpServer, Tool, Toolkit } from "effect/ai"
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
  /** Registers a tool with no parameters that answers `answer`; the server announces the change. */
  readonly addTool: (name: string, answer: string) => Effect.Effect<void>
  /** Hides (or shows again) built-in tools by name; the server announces the change. */
  readonly setHidden: (names: ReadonlyArray<string>) => Effect.Effect<void>
  /** Open `subscriptions/listen` streams now (POSTs whose answer has not ended). */
  readonly openStreams: Effect.Effect<number>
}

export interface FakeMcpServerOptions {
  /** Header names (lower case) and the values every request must carry, else 401. */
  readonly requiredHeaders?: Readonly<Record<string, string>> | undefined
  /** How long `slow_tool` takes; default 5 seconds. */
  readonly slowMillis?: number | undefined
  /** Lists `unlock_tools` too (hidden by default, so the usual list stays the three above). */
  readonly unlockTool?: boolean | undefined
  /** Speaks only 2025-11-25: no `subscriptions/listen`, so nothing can listen for its changes. */
  readonly legacyOnly?: boolean | undefined
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

const UnlockTools = Tool.make("unlock_tools", {
  description: "Makes unlocked_tool available",
  parameters: Tool.EmptyParams,
  success: Schema.String
})

/** The tools, each shown only while `shown(name)` holds (McpServer hides the rest from tools/list). */
const toolsShownWhen = (shown: (name: string) => boolean) => {
  const when = (tool: { readonly name: string }) => () => shown(tool.name)
  return Toolkit.make(
    LookupOrder.annotate(McpSchema.EnabledWhen, when(LookupOrder)),
    BrokenTool.annotate(McpSchema.EnabledWhen, when(BrokenTool)),
    SlowTool.annotate(McpSchema.EnabledWhen, when(SlowTool)),
    UnlockTools.annotate(McpSchema.EnabledWhen, when(UnlockTools))
  )
}

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
    let hidden: ReadonlySet<string> = new Set(options.unlockTool === true ? [] : ["unlock_tools"])
    const Tools = toolsShownWhen((name) => !hidden.has(name))
    let mcp: McpServer.McpServer["Service"] | undefined
    let openStreams = 0
    const addTool = (name: string, answer: string) =>
      Effect.suspend(() =>
        mcp!.addTool({
          tool: new McpSchema.Tool({
            name,
            description: `Answers ${answer}`,
            inputSchema: { type: "object" }
          }),
          annotations: Context.empty(),
          handle: () =>
            Effect.sync(() => {
              toolCalls.push({ name, arguments: {} })
              return new McpSchema.CallToolResult({ content: [{ type: "text", text: answer }] })
            })
        })
      )

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
        }),
      unlock_tools: () =>
        Effect.suspend(() => {
          toolCalls.push({ name: "unlock_tools", arguments: {} })
          return Effect.as(addTool("unlocked_tool", "unlocked"), "unlocked_tool is available")
        })
    })
    // The server's own service, for changing its tools while it runs.
    const capture = Layer.effectDiscard(
      Effect.map(McpServer.McpServer, (service) => {
        mcp = service
      })
    )

    const app = McpServer.layerHttp({
      name: "fake-mcp",
      version: "1.0.0",
      path: "/mcp",
      protocols:
        options.legacyOnly === true
          ? [McpProtocol.v2025_11_25]
          : [McpProtocol.v2025_11_25, McpProtocol.v2026_07_28],
      registrations: Layer.merge(McpServer.toolkit(Tools), capture).pipe(Layer.provide(handlers))
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
      const listening = body.includes("subscriptions/listen")
      const answer = await web.handler(
        new Request(`http://127.0.0.1${request.url ?? "/"}`, {
          method: request.method ?? "GET",
          headers,
          ...(body.byteLength === 0 ? {} : { body })
        })
      )
      response.writeHead(answer.status, Object.fromEntries(answer.headers.entries()))
      if (answer.body === null) return response.end()
      if (listening) openStreams += 1
      // A client that hangs up ends the answer (a listening stream would otherwise run on).
      const reader = answer.body.getReader()
      response.on("close", () => {
        reader.cancel().catch(() => undefined)
      })
      try {
        while (true) {
          const { done, value } = await reader.read()
          if (done) break
          response.write(value)
        }
      } finally {
        if (listening) openStreams -= 1
      }
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
      toolCalls: Effect.sync(() => toolCalls.slice()),
      addTool,
      setHidden: (names) =>
        Effect.suspend(() => {
          hidden = new Set([...names, ...(options.unlockTool === true ? [] : ["unlock_tools"])])
          return mcp!.notifications["notifications/tools/list_changed"]({}).pipe(Effect.asVoid)
        }),
      openStreams: Effect.sync(() => openStreams)
    }
  })

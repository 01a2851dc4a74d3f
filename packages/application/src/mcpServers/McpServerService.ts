/**
 * MCP servers: add, edit, refresh and remove the servers whose tools bots
 * may call. A server is stored only after it answered `tools/list`; its
 * headers are encrypted like provider keys, shown only as hints, and only
 * ever sent to the URL they were entered with. Which tools are allowed is
 * the admin's choice, by name, among those the server lists. The stored
 * list is what replies offer; it is listed again when the server says it
 * changed (on a call's answer here, or on its stream: McpToolWatch.ts).
 */
import { randomUUID } from "node:crypto"
import {
  McpServer,
  McpServerId,
  McpServerInUse,
  McpServerModel,
  type McpServerNameTaken,
  type McpServerNotFound,
  type McpTool,
  McpToolUnavailable
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Redacted, Schema, Stream } from "effect"
import {
  type McpConnectError,
  type McpConnection,
  McpConnector,
  McpServerRepository,
  type McpToolResult,
  type McpToolsEvent
} from "../ports/McpServers.ts"
import { BotRepository } from "../ports/Repositories.ts"
import { SecretBox } from "../ports/SecretBox.ts"

export type McpHeaders = Readonly<Record<string, string>>

export interface McpServerInput {
  readonly name: string
  readonly url: string
  /** Sent with every request to the server, e.g. `Authorization: Bearer …`. */
  readonly headers?: Redacted.Redacted<McpHeaders> | undefined
  readonly timeoutSeconds?: number | undefined
  /** Names among the tools the server lists; default none. */
  readonly allowedTools?: ReadonlyArray<string> | undefined
}

/** Fields to change; absent ones stay. `headers` replaces the whole set (empty: none). */
export type McpServerPatch = { readonly [K in keyof McpServerInput]?: McpServerInput[K] | undefined }

/** A new URL came without its headers while the server has some: they are never sent to another server. */
export class McpHeadersRequired extends Schema.TaggedError<McpHeadersRequired>()("McpHeadersRequired", {}) {
  override get message() {
    return "a new url needs its headers in the same request: stored headers are only sent to the server they were entered for"
  }
}

export class McpServerService extends Context.Service<
  McpServerService,
  {
    readonly create: (
      input: McpServerInput
    ) => Effect.Effect<McpServer, McpConnectError | McpServerNameTaken | McpToolUnavailable>
    readonly update: (
      id: McpServerId,
      patch: McpServerPatch
    ) => Effect.Effect<
      McpServer,
      McpServerNotFound | McpHeadersRequired | McpConnectError | McpServerNameTaken | McpToolUnavailable
    >
    /** Asks the server for its tools again and keeps what it says; the allowed names stay. */
    readonly refresh: (id: McpServerId) => Effect.Effect<McpServer, McpServerNotFound | McpConnectError>
    /** Refused (McpServerInUse, naming them) while bots use it. */
    readonly remove: (id: McpServerId) => Effect.Effect<void, McpServerNotFound | McpServerInUse>
    readonly get: (id: McpServerId) => Effect.Effect<McpServer, McpServerNotFound>
    readonly list: Effect.Effect<ReadonlyArray<McpServer>>
    /** Calls one allowed tool of the server with its arguments, as the turn loop will. */
    readonly callTool: (
      id: McpServerId,
      tool: string,
      args: Readonly<Record<string, unknown>>
    ) => Effect.Effect<McpToolResult, McpServerNotFound | McpToolUnavailable | McpConnectError>
    /** The server's tool-change notifications, on the stored URL and headers (McpConnector.watchTools). */
    readonly watch: (id: McpServerId) => Stream.Stream<McpToolsEvent, McpServerNotFound | McpConnectError>
  }
>()("@botfleet/application/McpServerService") {
  static readonly layer = Layer.effect(
    McpServerService,
    Effect.gen(function* () {
      const servers = yield* McpServerRepository
      const connector = yield* McpConnector
      const secrets = yield* SecretBox
      const bots = yield* BotRepository

      const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

      const sealHeaders = Effect.fn("McpServerService.sealHeaders")(function* (
        headers: Redacted.Redacted<McpHeaders> | undefined
      ) {
        const plain = headers === undefined ? {} : Redacted.value(headers)
        const names = Object.keys(plain)
        if (names.length === 0) return { headersCiphertext: null, headerHints: {} }
        return {
          headersCiphertext: yield* secrets.encrypt(Redacted.make(JSON.stringify(plain))),
          headerHints: Object.fromEntries(
            names.map((name) => [name, McpServerModel.headerHint(plain[name]!)])
          )
        }
      })

      // A stored secret that no longer decrypts means SECRETS_KEY changed: a configuration defect.
      const openHeaders = Effect.fn("McpServerService.openHeaders")(function* (server: McpServer) {
        if (server.headersCiphertext === null) return Redacted.make<McpHeaders>({})
        const json = yield* secrets.decrypt(server.headersCiphertext).pipe(Effect.orDie)
        return Redacted.make(JSON.parse(Redacted.value(json)) as McpHeaders)
      })

      const connection = (url: string, headers: Redacted.Redacted<McpHeaders>, timeoutSeconds: number) =>
        ({ url, headers, timeoutMs: timeoutSeconds * 1000 }) satisfies McpConnection

      const checkAllowed = (allowed: ReadonlyArray<string>, tools: ReadonlyArray<McpTool>) => {
        const unknown = allowed.find((name) => !tools.some((tool) => tool.name === name))
        return unknown === undefined ? Effect.void : Effect.fail(new McpToolUnavailable({ tool: unknown }))
      }

      const create = Effect.fn("McpServerService.create")(function* (input: McpServerInput) {
        const url = input.url.trim()
        const timeoutSeconds = input.timeoutSeconds ?? McpServerModel.DEFAULT_TIMEOUT_SECONDS
        const headers = input.headers ?? Redacted.make<McpHeaders>({})
        const tools = yield* connector.listTools(connection(url, headers, timeoutSeconds))
        const allowedTools = [...new Set(input.allowedTools ?? [])]
        yield* checkAllowed(allowedTools, tools)
        const at = yield* now
        const server = new McpServer({
          id: McpServerId.make(randomUUID()),
          name: input.name.trim(),
          url,
          ...(yield* sealHeaders(input.headers)),
          timeoutSeconds,
          allowedTools,
          tools,
          toolsRefreshedAt: at,
          createdAt: at,
          updatedAt: at
        })
        yield* servers.insert(server)
        yield* Effect.logInfo("MCP server added", { mcp_server_id: server.id, tools: tools.length })
        return server
      })

      const update = Effect.fn("McpServerService.update")(function* (id: McpServerId, patch: McpServerPatch) {
        const current = yield* servers.findById(id)
        const url = patch.url?.trim() ?? current.url
        // Stored headers go only to the server they were entered for.
        if (url !== current.url && patch.headers === undefined && current.headersCiphertext !== null) {
          return yield* new McpHeadersRequired()
        }
        const timeoutSeconds = patch.timeoutSeconds ?? current.timeoutSeconds
        let next = new McpServer({
          ...current,
          name: patch.name?.trim() ?? current.name,
          url,
          timeoutSeconds,
          allowedTools:
            patch.allowedTools === undefined ? current.allowedTools : [...new Set(patch.allowedTools)],
          updatedAt: yield* now
        })
        // A new server or new headers are checked (and the tools listed again) before anything is stored.
        if (url !== current.url || patch.headers !== undefined) {
          const headers = patch.headers ?? (yield* openHeaders(current))
          const tools = yield* connector.listTools(connection(url, headers, timeoutSeconds))
          next = new McpServer({
            ...next,
            ...(patch.headers === undefined ? {} : yield* sealHeaders(patch.headers)),
            tools,
            toolsRefreshedAt: next.updatedAt
          })
        }
        if (patch.allowedTools !== undefined) yield* checkAllowed(next.allowedTools, next.tools)
        yield* servers.update(next)
        yield* Effect.logInfo("MCP server updated", { mcp_server_id: id })
        return next
      })

      const refresh = Effect.fn("McpServerService.refresh")(function* (id: McpServerId) {
        const current = yield* servers.findById(id)
        const tools = yield* connector.listTools(
          connection(current.url, yield* openHeaders(current), current.timeoutSeconds)
        )
        const next = new McpServer({ ...current, tools, toolsRefreshedAt: yield* now })
        yield* servers.update(next).pipe(
          // Renamed meanwhile into a clash cannot happen here: the name is unchanged.
          Effect.catchTag("McpServerNameTaken", Effect.die)
        )
        yield* Effect.logInfo("MCP server tools refreshed", { mcp_server_id: id, tools: tools.length })
        return next
      })

      const remove = Effect.fn("McpServerService.remove")(function* (id: McpServerId) {
        yield* servers.findById(id)
        // No foreign key can hold an array: the check is here.
        const users = (yield* bots.list).filter((bot) => bot.mcpServerIds.includes(id)).map((bot) => bot.name)
        if (users.length > 0) return yield* new McpServerInUse({ mcpServerId: id, bots: users })
        yield* servers.delete(id)
        yield* Effect.logInfo("MCP server deleted", { mcp_server_id: id })
      })

      const get = Effect.fn("McpServerService.get")(function* (id: McpServerId) {
        return yield* servers.findById(id)
      })

      const callTool = Effect.fn("McpServerService.callTool")(function* (
        id: McpServerId,
        name: string,
        args: Readonly<Record<string, unknown>>
      ) {
        const server = yield* servers.findById(id)
        const tool = McpServerModel.offeredTools(server).find((offered) => offered.name === name)
        if (tool === undefined) return yield* new McpToolUnavailable({ tool: name })
        const result = yield* connector.callTool(
          connection(server.url, yield* openHeaders(server), server.timeoutSeconds),
          tool,
          args
        )
        // The server changed its tools while answering: the next reply offers the new list.
        if (result.toolsChanged === true) {
          yield* refresh(id).pipe(
            Effect.catchCause((cause) =>
              Effect.logWarning("MCP server tools not listed again after it said they changed", {
                mcp_server_id: id,
                cause
              })
            )
          )
        }
        return result
      })

      const watch = (id: McpServerId) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const server = yield* servers.findById(id)
            const headers = yield* openHeaders(server)
            return connector.watchTools(connection(server.url, headers, server.timeoutSeconds))
          })
        )

      return McpServerService.of({
        create,
        update,
        refresh,
        remove,
        get,
        list: servers.list.pipe(Effect.withSpan("McpServerService.list")),
        callTool,
        watch
      })
    })
  )
}

/** MCP servers: a thin layer over McpServerService; responses carry header hints, never header values. */
import { McpServerService } from "@botfleet/application"
import { McpServerId } from "@botfleet/domain"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, urlRefusedIn } from "../ApiErrors.ts"
import { noteForAudit } from "../auditNote.ts"
import { toMcpServerView } from "../mcpServerSchemas.ts"
import { createdAt } from "../responseHeaders.ts"

/** The refused address is the server's `url` field (the table's url_not_allowed names no field). */
const urlRefused = urlRefusedIn("url")

const headersOf = (headers: Readonly<Record<string, string>> | undefined) =>
  headers === undefined ? undefined : Redacted.make(headers)

export const McpServersHandlers = HttpApiBuilder.group(
  Api,
  "mcpServers",
  Effect.fn(function* (handlers) {
    const servers = yield* McpServerService

    return handlers
      .handle("list", () => Effect.map(servers.list, (all) => all.map(toMcpServerView)))
      .handle("create", ({ payload }) =>
        servers.create({ ...payload, headers: headersOf(payload.headers) }).pipe(
          Effect.tap((server) => createdAt(`/api/mcp-servers/${server.id}`)),
          Effect.tap((server) => noteForAudit({ objectId: server.id })),
          Effect.map(toMcpServerView),
          Effect.catchTag("UrlNotAllowed", urlRefused),
          answerErrors
        )
      )
      .handle("get", ({ params }) =>
        servers.get(McpServerId.make(params.id)).pipe(Effect.map(toMcpServerView), answerErrors)
      )
      .handle("update", ({ params, payload }) =>
        servers
          .update(McpServerId.make(params.id), { ...payload, headers: headersOf(payload.headers) })
          .pipe(Effect.map(toMcpServerView), Effect.catchTag("UrlNotAllowed", urlRefused), answerErrors)
      )
      .handle("refresh", ({ params }) =>
        servers
          .refresh(McpServerId.make(params.id))
          .pipe(Effect.map(toMcpServerView), Effect.catchTag("UrlNotAllowed", urlRefused), answerErrors)
      )
      .handle("remove", ({ params }) => servers.remove(McpServerId.make(params.id)).pipe(answerErrors))
  })
)

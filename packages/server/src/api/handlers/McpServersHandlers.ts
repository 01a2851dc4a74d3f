/** MCP servers: a thin layer over McpServerService; responses carry header hints, never header values. */
import { McpServerService } from "@botfleet/application"
import { McpServerId } from "@botfleet/domain"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { Conflict, error, NotFound, ServiceUnavailable, Unprocessable } from "../ApiErrors.ts"
import { noteForAudit } from "../auditNote.ts"
import { toMcpServerView } from "../mcpServerSchemas.ts"
import { addResponseHeaders, createdAt } from "../responseHeaders.ts"

type Failure = { readonly message: string }

const notFound = (e: Failure) => Effect.fail(new NotFound(error("mcp_server_not_found", e.message)))

/** What asking the server can run into. */
const unreachable = {
  UrlNotAllowed: (e: Failure) =>
    Effect.fail(new Unprocessable(error("url_not_allowed", `url: ${e.message}`))),
  McpHeadersRefused: (e: Failure) => Effect.fail(new Unprocessable(error("headers_refused", e.message))),
  McpServerUnreachable: (e: Failure) =>
    addResponseHeaders({ "retry-after": "30" }).pipe(
      Effect.andThen(Effect.fail(new ServiceUnavailable(error("mcp_server_unreachable", e.message))))
    )
}

/** What creating or editing can run into. */
const invalid = {
  ...unreachable,
  McpServerNameTaken: (e: Failure) => Effect.fail(new Conflict(error("name_taken", e.message))),
  McpToolUnavailable: (e: Failure) => Effect.fail(new Unprocessable(error("unknown_tool", e.message)))
}

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
          Effect.catchTags(invalid)
        )
      )
      .handle("get", ({ params }) =>
        servers
          .get(McpServerId.make(params.id))
          .pipe(Effect.map(toMcpServerView), Effect.catchTag("McpServerNotFound", notFound))
      )
      .handle("update", ({ params, payload }) =>
        servers.update(McpServerId.make(params.id), { ...payload, headers: headersOf(payload.headers) }).pipe(
          Effect.map(toMcpServerView),
          Effect.catchTags({
            ...invalid,
            McpServerNotFound: notFound,
            McpHeadersRequired: (e) => Effect.fail(new Unprocessable(error("headers_required", e.message)))
          })
        )
      )
      .handle("refresh", ({ params }) =>
        servers
          .refresh(McpServerId.make(params.id))
          .pipe(
            Effect.map(toMcpServerView),
            Effect.catchTags({ ...unreachable, McpServerNotFound: notFound })
          )
      )
      .handle("remove", ({ params }) =>
        servers.remove(McpServerId.make(params.id)).pipe(
          Effect.catchTags({
            McpServerNotFound: notFound,
            McpServerInUse: (e) => Effect.fail(new Conflict(error("mcp_server_in_use", e.message)))
          })
        )
      )
  })
)

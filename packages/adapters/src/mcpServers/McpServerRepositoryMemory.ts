/** The in-memory twin of McpServerRepositoryPg: unique names (case-insensitive) and the same order. */
import { McpServerRepository } from "@botfleet/application"
import { type McpServer, type McpServerId, McpServerNameTaken, McpServerNotFound } from "@botfleet/domain"
import { Effect, Layer, Ref } from "effect"
import { compareIds } from "../memory/MemoryStore.ts"

type Servers = ReadonlyMap<string, McpServer>

const nameTaken = (servers: Servers, server: McpServer): boolean =>
  [...servers.values()].some(
    (other) => other.id !== server.id && other.name.toLowerCase() === server.name.toLowerCase()
  )

const byName = (a: McpServer, b: McpServer): number => {
  const x = a.name.toLowerCase()
  const y = b.name.toLowerCase()
  return x < y ? -1 : x > y ? 1 : compareIds(a.id, b.id)
}

const withEntry = (servers: Servers, server: McpServer): Servers => new Map(servers).set(server.id, server)

export const layerMemory: Layer.Layer<McpServerRepository> = Layer.effect(
  McpServerRepository,
  Effect.gen(function* () {
    const store = yield* Ref.make<Servers>(new Map())

    const insert = Effect.fn("McpServerRepository.insert")(function* (server: McpServer) {
      return yield* yield* Ref.modify(
        store,
        (servers): [Effect.Effect<void, McpServerNameTaken>, Servers] => {
          if (servers.has(server.id))
            return [Effect.die(new Error(`duplicate MCP server id ${server.id}`)), servers]
          if (nameTaken(servers, server))
            return [Effect.fail(new McpServerNameTaken({ name: server.name })), servers]
          return [Effect.void, withEntry(servers, server)]
        }
      )
    })

    const update = Effect.fn("McpServerRepository.update")(function* (server: McpServer) {
      return yield* yield* Ref.modify(
        store,
        (servers): [Effect.Effect<void, McpServerNotFound | McpServerNameTaken>, Servers] => {
          if (!servers.has(server.id)) {
            return [Effect.fail(new McpServerNotFound({ mcpServerId: server.id })), servers]
          }
          if (nameTaken(servers, server)) {
            return [Effect.fail(new McpServerNameTaken({ name: server.name })), servers]
          }
          return [Effect.void, withEntry(servers, server)]
        }
      )
    })

    const findById = Effect.fn("McpServerRepository.findById")(function* (id: McpServerId) {
      const server = (yield* Ref.get(store)).get(id)
      if (server === undefined) return yield* new McpServerNotFound({ mcpServerId: id })
      return server
    })

    const list = Ref.get(store).pipe(
      Effect.map((servers): ReadonlyArray<McpServer> => [...servers.values()].sort(byName)),
      Effect.withSpan("McpServerRepository.list")
    )

    const remove = Effect.fn("McpServerRepository.delete")(function* (id: McpServerId) {
      return yield* yield* Ref.modify(store, (servers): [Effect.Effect<void, McpServerNotFound>, Servers] => {
        if (!servers.has(id)) return [Effect.fail(new McpServerNotFound({ mcpServerId: id })), servers]
        const next = new Map(servers)
        next.delete(id)
        return [Effect.void, next]
      })
    })

    return McpServerRepository.of({ insert, update, findById, list, delete: remove })
  })
)

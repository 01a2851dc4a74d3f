/**
 * The McpServerRepository contract, run on PostgreSQL and on the in-memory
 * twin: every field (the tools' JSON Schemas included) comes back as stored,
 * names are unique whatever their case, order by name.
 */
import { McpServerRepository } from "@botfleet/application"
import { McpServer, McpServerId } from "@botfleet/domain"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as McpServerRepositoryMemory from "../../src/mcpServers/McpServerRepositoryMemory.ts"
import * as McpServerRepositoryPg from "../../src/mcpServers/McpServerRepositoryPg.ts"
import * as Database from "../../src/postgres/Database.ts"

const at = new Date(Date.UTC(2026, 0, 1))

const makeServer = (name: string) =>
  new McpServer({
    id: McpServerId.make(crypto.randomUUID()),
    name,
    url: "http://127.0.0.1:3000/mcp",
    headersCiphertext: "v1:ciphertext",
    headerHints: { authorization: "…abcd" },
    timeoutSeconds: 30,
    allowedTools: ["lookup_order"],
    tools: [
      {
        name: "lookup_order",
        title: "Look up an order",
        description: "Finds an order by its number",
        inputSchema: { type: "object", properties: { number: { type: "string" } }, required: ["number"] }
      },
      { name: "cancel_order", title: null, description: null, inputSchema: { type: "object" } }
    ],
    toolsRefreshedAt: at,
    createdAt: at,
    updatedAt: at
  })

const contract = (name: string, repository: Layer.Layer<McpServerRepository>) =>
  layer(repository)(`McpServerRepository on ${name}`, (it) => {
    const unique = () => `m-${crypto.randomUUID().slice(0, 8)}`

    it.effect("a server is stored, found, updated, listed by name and deleted", () =>
      Effect.gen(function* () {
        const servers = yield* McpServerRepository
        const suffix = unique()
        const b = makeServer(`b-${suffix}`)
        const a = makeServer(`A-${suffix}`)
        yield* servers.insert(b)
        yield* servers.insert(a)
        assert.deepStrictEqual(yield* servers.findById(b.id), b)
        const mine = (yield* servers.list).filter((server) => server.name.endsWith(suffix))
        assert.deepStrictEqual(
          mine.map((server) => server.name),
          [`A-${suffix}`, `b-${suffix}`]
        )
        const edited = new McpServer({
          ...b,
          headersCiphertext: null,
          headerHints: {},
          allowedTools: ["lookup_order", "cancel_order"],
          tools: [],
          toolsRefreshedAt: null,
          timeoutSeconds: 5,
          updatedAt: new Date(at.getTime() + 1000)
        })
        yield* servers.update(edited)
        assert.deepStrictEqual(yield* servers.findById(b.id), edited)
        yield* servers.delete(b.id)
        assert.strictEqual((yield* Effect.flip(servers.findById(b.id)))._tag, "McpServerNotFound")
        assert.strictEqual((yield* Effect.flip(servers.delete(b.id)))._tag, "McpServerNotFound")
        assert.strictEqual((yield* Effect.flip(servers.update(edited)))._tag, "McpServerNotFound")
      })
    )

    it.effect("names are unique whatever their case, on insert and on update", () =>
      Effect.gen(function* () {
        const servers = yield* McpServerRepository
        const name = unique()
        yield* servers.insert(makeServer(name))
        assert.strictEqual(
          (yield* Effect.flip(servers.insert(makeServer(name.toUpperCase()))))._tag,
          "McpServerNameTaken"
        )
        const other = makeServer(unique())
        yield* servers.insert(other)
        const renamed = new McpServer({ ...other, name: name.toUpperCase() })
        assert.strictEqual((yield* Effect.flip(servers.update(renamed)))._tag, "McpServerNameTaken")
      })
    )
  })

contract(
  "postgres",
  McpServerRepositoryPg.layer.pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)))
)
contract("memory", McpServerRepositoryMemory.layerMemory)

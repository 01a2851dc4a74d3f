/**
 * The SetupTokens contract on PostgreSQL and on the memory twin: a live link
 * creates the first owner once; an expired, made-up or second use, or any use
 * once an admin exists, creates nothing; two links used at once make one owner.
 */
import { randomUUID } from "node:crypto"
import { type Admin, AdminRepository, SetupTokens } from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as AdminRepositoryPg from "../../src/admins/AdminRepositoryPg.ts"
import * as AdminsMemory from "../../src/admins/AdminsMemory.ts"
import * as Database from "../../src/postgres/Database.ts"
import * as SetupTokensMemory from "../../src/setupTokens/SetupTokensMemory.ts"
import * as SetupTokensPg from "../../src/setupTokens/SetupTokensPg.ts"

const now = new Date(Date.UTC(2026, 0, 1, 12))
const inAnHour = new Date(now.getTime() + 3_600_000)

const owner = (email: string): Admin => ({
  id: randomUUID(),
  email,
  passwordHash: "$argon2id$v=19$test",
  role: "owner",
  createdAt: now
})

const refusal = <A>(exit: Exit.Exit<A, { readonly reason: string }>) =>
  Exit.isFailure(exit)
    ? exit.cause.reasons.map((r) => (r._tag === "Fail" ? r.error.reason : r._tag))
    : ["success"]

/** Each case gets a database of its own, since "no admin yet" is global state. */
const contract = (name: string, fresh: () => Layer.Layer<SetupTokens | AdminRepository>) =>
  layer(Layer.empty)(`SetupTokens on ${name}`, (it) => {
    it.effect("a live link creates the owner once, then every link is refused", () =>
      Effect.gen(function* () {
        const tokens = yield* SetupTokens
        const admins = yield* AdminRepository
        assert.isFalse(yield* admins.anyExists)
        yield* tokens.issue("hash-a", now, inAnHour)
        yield* tokens.issue("hash-b", now, inAnHour)
        yield* tokens.claim("hash-a", now, owner("owner@example.com"))
        assert.isTrue(yield* admins.anyExists)
        assert.isTrue((yield* admins.findByEmail("owner@example.com"))._tag === "Some")
        assert.deepStrictEqual(
          refusal(yield* Effect.exit(tokens.claim("hash-a", now, owner("again@example.com")))),
          ["already_set_up"]
        )
        assert.deepStrictEqual(
          refusal(yield* Effect.exit(tokens.claim("hash-b", now, owner("other@example.com")))),
          ["already_set_up"]
        )
        assert.isTrue((yield* admins.findByEmail("again@example.com"))._tag === "None")
        assert.isTrue((yield* admins.findByEmail("other@example.com"))._tag === "None")
      }).pipe(Effect.provide(fresh()))
    )

    it.effect("an expired or made-up link creates nothing", () =>
      Effect.gen(function* () {
        const tokens = yield* SetupTokens
        const admins = yield* AdminRepository
        yield* tokens.issue("hash-old", new Date(now.getTime() - 7_200_000), new Date(now.getTime() - 1))
        assert.deepStrictEqual(
          refusal(yield* Effect.exit(tokens.claim("hash-old", now, owner("late@example.com")))),
          ["invalid_link"]
        )
        assert.deepStrictEqual(
          refusal(yield* Effect.exit(tokens.claim("made-up", now, owner("guess@example.com")))),
          ["invalid_link"]
        )
        assert.isFalse(yield* admins.anyExists)
      }).pipe(Effect.provide(fresh()))
    )

    it.effect("two links used at the same moment make one owner", () =>
      Effect.gen(function* () {
        const tokens = yield* SetupTokens
        const admins = yield* AdminRepository
        yield* tokens.issue("hash-1", now, inAnHour)
        yield* tokens.issue("hash-2", now, inAnHour)
        const [first, second] = yield* Effect.all(
          [
            Effect.exit(tokens.claim("hash-1", now, owner("one@example.com"))),
            Effect.exit(tokens.claim("hash-2", now, owner("two@example.com")))
          ],
          { concurrency: 2 }
        )
        assert.strictEqual([first, second].filter(Exit.isSuccess).length, 1)
        const created = [
          yield* admins.findByEmail("one@example.com"),
          yield* admins.findByEmail("two@example.com")
        ].filter((found) => found._tag === "Some")
        assert.strictEqual(created.length, 1)
      }).pipe(Effect.provide(fresh()))
    )
  })

contract("PostgreSQL", () =>
  Layer.mergeAll(SetupTokensPg.layer, AdminRepositoryPg.layer).pipe(
    Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt))
  )
)

contract("memory", () => SetupTokensMemory.layerMemory.pipe(Layer.provideMerge(AdminsMemory.layerMemory)))

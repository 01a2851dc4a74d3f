/**
 * The SessionRepository contract, run on PostgreSQL and on the in-memory twin:
 * live means neither expired nor idle, an admin lists and ends only their own
 * sessions, and "end my other sessions" keeps the one named.
 */
import { randomUUID } from "node:crypto"
import { type Admin, AdminRepository, type Session, SessionRepository } from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as AdminRepositoryPg from "../../src/admins/AdminRepositoryPg.ts"
import * as AdminsMemory from "../../src/admins/AdminsMemory.ts"
import * as Database from "../../src/postgres/Database.ts"

const NOW = new Date(Date.UTC(2026, 5, 1, 12))
const minutes = (count: number) => new Date(NOW.getTime() + count * 60_000)
/** Sessions unused since before this are idle (a 2-hour idle timeout at NOW). */
const IDLE_SINCE = minutes(-120)

const anAdmin = Effect.gen(function* () {
  const admin: Admin = {
    id: randomUUID(),
    email: `admin-${randomUUID()}@example.com`,
    passwordHash: "not-a-real-hash",
    role: "operator",
    createdAt: NOW
  }
  yield* (yield* AdminRepository).insert(admin).pipe(Effect.orDie)
  return admin
})

const aSession = (admin: Admin, fields: Partial<Session> = {}): Session => ({
  id: randomUUID(),
  idHash: `hash-${randomUUID()}`,
  adminId: admin.id,
  createdAt: minutes(-10),
  lastSeenAt: minutes(-5),
  expiresAt: minutes(7 * 24 * 60),
  clientAddress: "203.0.113.7",
  userAgent: "Mozilla/5.0 (test)",
  ...fields
})

const contract = (name: string, repositories: Layer.Layer<AdminRepository | SessionRepository>) =>
  layer(repositories)(`SessionRepository on ${name}`, (it) => {
    it.effect("a session is stored with its public id and sign-in client, and found by its hash", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionRepository
        const admin = yield* anAdmin
        const session = aSession(admin)
        yield* sessions.insert(session)
        assert.deepStrictEqual(yield* sessions.findLive(session.idHash, NOW), Option.some(session))
        assert.isTrue(Option.isNone(yield* sessions.findLive(session.id, NOW)), "the public id is not a key")
        assert.isTrue(Option.isNone(yield* sessions.findLive(session.idHash, session.expiresAt)))
      })
    )

    it.effect("touch moves last_seen_at, and only that session's", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionRepository
        const admin = yield* anAdmin
        const touched = aSession(admin)
        const other = aSession(admin)
        yield* sessions.insert(touched)
        yield* sessions.insert(other)
        yield* sessions.touch(touched.idHash, NOW)
        assert.deepStrictEqual(
          Option.map(yield* sessions.findLive(touched.idHash, NOW), (s) => s.lastSeenAt),
          Option.some(NOW)
        )
        assert.deepStrictEqual(yield* sessions.findLive(other.idHash, NOW), Option.some(other))
      })
    )

    it.effect("listLive: the admin's own sessions, newest first, without expired or idle ones", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionRepository
        const admin = yield* anAdmin
        const someoneElse = yield* anAdmin
        const older = aSession(admin, { createdAt: minutes(-60) })
        const newer = aSession(admin, { createdAt: minutes(-1) })
        const expired = aSession(admin, { expiresAt: minutes(-1) })
        const idle = aSession(admin, { lastSeenAt: minutes(-121) })
        const theirs = aSession(someoneElse)
        for (const session of [older, newer, expired, idle, theirs]) yield* sessions.insert(session)
        assert.deepStrictEqual(yield* sessions.listLive(admin.id, NOW, IDLE_SINCE), [newer, older])
        assert.deepStrictEqual(yield* sessions.listLive(someoneElse.id, NOW, IDLE_SINCE), [theirs])
      })
    )

    it.effect("deleteOwned ends the admin's own session only; another admin's is left alone", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionRepository
        const owner = yield* anAdmin
        const attacker = yield* anAdmin
        const session = aSession(owner)
        yield* sessions.insert(session)
        assert.isFalse(yield* sessions.deleteOwned(attacker.id, session.id))
        assert.deepStrictEqual(yield* sessions.findLive(session.idHash, NOW), Option.some(session))
        assert.isFalse(yield* sessions.deleteOwned(owner.id, randomUUID()))
        assert.isTrue(yield* sessions.deleteOwned(owner.id, session.id))
        assert.isTrue(Option.isNone(yield* sessions.findLive(session.idHash, NOW)))
        assert.isFalse(yield* sessions.deleteOwned(owner.id, session.id), "already gone")
      })
    )

    it.effect("deleteOthers keeps the one named and every other admin's", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionRepository
        const admin = yield* anAdmin
        const someoneElse = yield* anAdmin
        const kept = aSession(admin)
        const ended = [aSession(admin), aSession(admin)]
        const theirs = aSession(someoneElse)
        for (const session of [kept, ...ended, theirs]) yield* sessions.insert(session)
        assert.strictEqual(yield* sessions.deleteOthers(admin.id, kept.idHash), 2)
        assert.deepStrictEqual(yield* sessions.listLive(admin.id, NOW, IDLE_SINCE), [kept])
        assert.deepStrictEqual(yield* sessions.listLive(someoneElse.id, NOW, IDLE_SINCE), [theirs])
      })
    )

    it.effect("deleteExpired removes expired and idle sessions, nothing live", () =>
      Effect.gen(function* () {
        const sessions = yield* SessionRepository
        const admin = yield* anAdmin
        const live = aSession(admin)
        const expired = aSession(admin, { expiresAt: minutes(-1) })
        const idle = aSession(admin, { lastSeenAt: minutes(-121) })
        for (const session of [live, expired, idle]) yield* sessions.insert(session)
        assert.isAtLeast(yield* sessions.deleteExpired(NOW, IDLE_SINCE), 2)
        assert.deepStrictEqual(yield* sessions.listLive(admin.id, NOW, IDLE_SINCE), [live])
        assert.isTrue(Option.isNone(yield* sessions.findLive(idle.idHash, NOW)))
        assert.isTrue(Option.isNone(yield* sessions.findLive(expired.idHash, minutes(-2))))
      })
    )
  })

contract(
  "postgres",
  Layer.mergeAll(AdminRepositoryPg.layer, AdminRepositoryPg.sessionsLayer).pipe(
    Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt))
  )
)
contract("memory", AdminsMemory.layerMemory)

/**
 * Admins with roles, invitations and the audit log, run on PostgreSQL and on
 * the in-memory twins: the last owner stays, an invitation is redeemed once
 * and only in time, a removed admin's sessions go, and the audit log filters
 * and pages newest first.
 */

import { randomUUID } from "node:crypto"
import {
  type Admin,
  AdminRepository,
  type AdminRole,
  type AuditEntryInput,
  AuditLog,
  InvitationRepository,
  SessionRepository
} from "@botfleet/application"
import { serverUrl, TestDatabase } from "@botfleet/testing"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as AdminRepositoryPg from "../../src/admins/AdminRepositoryPg.ts"
import * as AdminsMemory from "../../src/admins/AdminsMemory.ts"
import * as InvitationRepositoryPg from "../../src/admins/InvitationRepositoryPg.ts"
import * as AuditLogMemory from "../../src/audit/AuditLogMemory.ts"
import * as AuditLogPg from "../../src/audit/AuditLogPg.ts"
import * as Database from "../../src/postgres/Database.ts"

const at = new Date(Date.UTC(2026, 0, 1))
const later = (ms: number) => new Date(at.getTime() + ms)
const unique = () => crypto.randomUUID().slice(0, 8)

const makeAdmin = (role: AdminRole, email = `${role}-${unique()}@example.com`): Admin => ({
  id: crypto.randomUUID(),
  email,
  passwordHash: "hash",
  role,
  createdAt: at
})

type Services = AdminRepository | InvitationRepository | SessionRepository | AuditLog

const contract = (name: string, services: Layer.Layer<Services>) =>
  layer(services)(`admins, invitations and audit on ${name}`, (it) => {
    /** Every owner already stored is demoted, so the test knows exactly how many owners there are. */
    const onlyOwner = Effect.gen(function* () {
      const admins = yield* AdminRepository
      const owner = makeAdmin("owner")
      yield* admins.insert(owner)
      for (const other of yield* admins.list) {
        if (other.role === "owner" && other.id !== owner.id)
          yield* Effect.orDie(admins.changeRole(other.id, "viewer"))
      }
      return owner
    })

    it.effect("the last owner is neither demoted nor removed; with two, one may go", () =>
      Effect.gen(function* () {
        const admins = yield* AdminRepository
        const owner = yield* onlyOwner
        assert.strictEqual((yield* Effect.flip(admins.changeRole(owner.id, "operator")))._tag, "LastOwner")
        assert.strictEqual((yield* Effect.flip(admins.remove(owner.id)))._tag, "LastOwner")
        assert.strictEqual(Option.getOrThrow(yield* admins.findById(owner.id)).role, "owner")
        assert.strictEqual(
          (yield* Effect.flip(admins.changeRole(crypto.randomUUID(), "viewer")))._tag,
          "AdminNotFound"
        )
        assert.strictEqual((yield* Effect.flip(admins.remove(crypto.randomUUID())))._tag, "AdminNotFound")

        const second = makeAdmin("operator")
        yield* admins.insert(second)
        assert.strictEqual((yield* admins.changeRole(second.id, "owner")).role, "owner")
        assert.strictEqual((yield* admins.changeRole(owner.id, "viewer")).role, "viewer")
        assert.strictEqual((yield* Effect.flip(admins.remove(second.id)))._tag, "LastOwner")
        assert.includeMembers(
          (yield* admins.list).map((admin) => admin.id),
          [owner.id, second.id]
        )
      })
    )

    it.effect("removing an admin ends their sessions", () =>
      Effect.gen(function* () {
        const admins = yield* AdminRepository
        const sessions = yield* SessionRepository
        const leaving = makeAdmin("operator")
        yield* admins.insert(leaving)
        const idHash = `session-${unique()}`
        yield* sessions.insert({
          id: randomUUID(),
          idHash,
          adminId: leaving.id,
          createdAt: at,
          lastSeenAt: at,
          expiresAt: later(60_000),
          clientAddress: null,
          userAgent: null
        })
        assert.isTrue(Option.isSome(yield* sessions.findLive(idHash, at)))
        yield* admins.remove(leaving.id)
        assert.isTrue(Option.isNone(yield* sessions.findLive(idHash, at)))
        assert.isTrue(Option.isNone(yield* admins.findById(leaving.id)))
      })
    )

    it.effect("an invitation is redeemed once, before it expires, into an admin with its role", () =>
      Effect.gen(function* () {
        const admins = yield* AdminRepository
        const invitations = yield* InvitationRepository
        const owner = makeAdmin("owner")
        yield* admins.insert(owner)
        const email = `invited-${unique()}@example.com`
        const tokenHash = `hash-${unique()}`
        yield* invitations.insert({
          id: crypto.randomUUID(),
          tokenHash,
          email,
          role: "operator",
          invitedBy: owner.id,
          createdAt: at,
          expiresAt: later(1000)
        })
        const madeUp = yield* Effect.flip(
          invitations.redeem("no such hash", at, { id: crypto.randomUUID(), passwordHash: "h" })
        )
        assert.strictEqual(madeUp._tag, "InvitationInvalid")
        const expired = yield* Effect.flip(
          invitations.redeem(tokenHash, later(1000), { id: crypto.randomUUID(), passwordHash: "h" })
        )
        assert.strictEqual(expired._tag, "InvitationInvalid")
        assert.isTrue(Option.isNone(yield* admins.findByEmail(email)))

        const id = crypto.randomUUID()
        const admin = yield* invitations.redeem(tokenHash, later(999), { id, passwordHash: "h" })
        assert.deepStrictEqual(admin, {
          id,
          email,
          passwordHash: "h",
          role: "operator",
          createdAt: later(999)
        })
        assert.deepStrictEqual(yield* admins.findByEmail(email), Option.some(admin))
        const again = yield* Effect.flip(
          invitations.redeem(tokenHash, later(999), { id: crypto.randomUUID(), passwordHash: "h" })
        )
        assert.strictEqual(again._tag, "InvitationInvalid")
      })
    )

    it.effect("an invitation whose email became an admin meanwhile is refused and changes nobody", () =>
      Effect.gen(function* () {
        const admins = yield* AdminRepository
        const invitations = yield* InvitationRepository
        const owner = makeAdmin("owner")
        yield* admins.insert(owner)
        const email = `taken-${unique()}@example.com`
        const tokenHash = `hash-${unique()}`
        yield* invitations.insert({
          id: crypto.randomUUID(),
          tokenHash,
          email,
          role: "viewer",
          invitedBy: owner.id,
          createdAt: at,
          expiresAt: later(1000)
        })
        yield* admins.insert(makeAdmin("owner", email))
        const taken = yield* Effect.flip(
          invitations.redeem(tokenHash, at, { id: crypto.randomUUID(), passwordHash: "h" })
        )
        assert.strictEqual(taken._tag, "EmailTaken")
        assert.strictEqual(Option.getOrThrow(yield* admins.findByEmail(email)).role, "owner")
      })
    )

    it.effect("the audit log lists newest first, filters, and pages with a cursor", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog
        const adminId = crypto.randomUUID()
        const objectId = crypto.randomUUID()
        const entry = (
          action: string,
          ms: number,
          fields: Partial<AuditEntryInput> = {}
        ): AuditEntryInput => ({
          at: later(ms),
          adminId,
          adminEmail: "someone@example.com",
          action,
          objectType: "bot",
          objectId,
          outcome: "ok",
          detail: null,
          address: "203.0.113.7",
          ...fields
        })
        yield* audit.record(entry("bot.create", 0))
        yield* audit.record(entry("bot.disable", 10))
        yield* audit.record(entry("bot.enable", 20, { outcome: "refused", detail: "needs operator" }))
        yield* audit.record(entry("bot.disable", 30, { objectId: "other" }))

        const mine = yield* audit.list({ adminId, limit: 50 })
        assert.deepStrictEqual(
          mine.items.map((item) => item.action),
          ["bot.disable", "bot.enable", "bot.disable", "bot.create"]
        )
        assert.isNull(mine.nextCursor)
        assert.deepStrictEqual(
          { ...mine.items[1], id: 0 },
          { ...entry("bot.enable", 20, { outcome: "refused", detail: "needs operator" }), id: 0 }
        )
        const disables = yield* audit.list({ adminId, action: "bot.disable", objectId, limit: 50 })
        assert.deepStrictEqual(
          disables.items.map((item) => item.at),
          [later(10)]
        )
        const window = yield* audit.list({ adminId, from: later(10), to: later(30), limit: 50 })
        assert.deepStrictEqual(
          window.items.map((item) => item.action),
          ["bot.enable", "bot.disable"]
        )

        const first = yield* audit.list({ adminId, limit: 3 })
        assert.strictEqual(first.items.length, 3)
        assert.isNotNull(first.nextCursor)
        const rest = yield* audit.list({ adminId, limit: 3, cursor: first.nextCursor ?? undefined })
        assert.deepStrictEqual(
          [...first.items, ...rest.items].map((item) => item.id),
          mine.items.map((item) => item.id)
        )
        assert.isNull(rest.nextCursor)
      })
    )
  })

contract(
  "postgres",
  Layer.mergeAll(
    AdminRepositoryPg.layer,
    AdminRepositoryPg.sessionsLayer,
    InvitationRepositoryPg.layer,
    AuditLogPg.layer
  ).pipe(Layer.provide(TestDatabase.layer(serverUrl(), Database.layerAt)))
)
contract("memory", Layer.merge(AdminsMemory.layerMemory, AuditLogMemory.layerMemory))

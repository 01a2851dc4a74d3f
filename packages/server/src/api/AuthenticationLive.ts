/**
/**
 * The session middleware: a valid session cookie (under either of its names)
 * provides `CurrentAdmin`, anything else is 401. Then the role check
 * (accessRules.ts: 403 `forbidden`, recorded as refused, the handler never
 * runs) and, for a request that changes state and succeeds, its audit entry.
 */
import { AuditLog, AuthService, InvalidSession } from "@botfleet/application"
import { Clock, Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { clientAddressOf, TrustProxy } from "../http/clientAddress.ts"
import { error, Forbidden, Unauthorized } from "./ApiErrors.ts"
import { Authentication, CurrentAdmin } from "./Authentication.ts"
import { allows, changesState, objectTypeOf, requiredRole } from "./accessRules.ts"
import { AuditNote, type AuditNoteFields } from "./auditNote.ts"
import { authenticateOnce } from "./requestSession.ts"

/** What the path names: `id`, or `id/userId` for a bot's user. */
const objectIdOf = (params: Readonly<Record<string, string | undefined>>): string | null => {
  const values = Object.values(params).filter((value): value is string => value !== undefined)
  return values.length === 0 ? null : values.join("/")
}

/** A create answers 201 with `Location: /api/<things>/<id>`: that id is the new object's. */
const createdIdOf = (location: string | undefined): string | null =>
  location?.startsWith("/api/") ? (location.split("/").at(-1) ?? null) : null

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const auth = yield* AuthService
    const audit = yield* AuditLog
    const proxies = yield* TrustProxy
    const check: Authentication["Service"]["session"] = (httpEffect, { credential, endpoint, group }) =>
      Effect.gen(function* () {
        // An absent cookie decodes as "": no need to look it up.
        const admin = yield* (
          Redacted.value(credential) === ""
            ? Effect.fail(new InvalidSession())
            : authenticateOnce(auth, credential)
        ).pipe(
          Effect.mapError(() => new Unauthorized(error("unauthorized", "no valid session: log in first")))
        )
        const current = { id: admin.id, email: admin.email, role: admin.role, createdAt: admin.createdAt }
        const request = yield* HttpServerRequest.HttpServerRequest
        const { params } = yield* HttpRouter.RouteContext
        const objectType = objectTypeOf(group.identifier)
        const action = `${objectType}.${endpoint.identifier}`
        const record = (outcome: "ok" | "refused", objectId: string | null, detail: string | null) =>
          Effect.flatMap(Clock.currentTimeMillis, (millis) =>
            audit.record({
              at: new Date(millis),
              adminId: admin.id,
              adminEmail: admin.email,
              action,
              objectType,
              objectId,
              outcome,
              detail,
              address: clientAddressOf(request, proxies)
            })
          )

        const requirement = requiredRole(group.identifier, endpoint.method, endpoint.path)
        if (!allows(admin.role, requirement)) {
          yield* record("refused", objectIdOf(params), `needs ${requirement}, has ${admin.role}`)
          return yield* new Forbidden(
            error(
              "forbidden",
              `${endpoint.method} ${request.url.split("?")[0]} needs the ${requirement} role; you are ${admin.role}`
            )
          )
        }

        const notes: Array<AuditNoteFields> = []
        const response = yield* httpEffect.pipe(
          Effect.provideService(CurrentAdmin, current),
          Effect.provideService(AuditNote, { add: (note) => void notes.push(note) })
        )
        if (changesState(endpoint.method) && response.status < 400) {
          const objectId =
            notes.findLast((note) => note.objectId !== undefined)?.objectId ??
            objectIdOf(params) ??
            createdIdOf(response.headers.location)
          const detail = notes.findLast((note) => note.detail !== undefined)?.detail ?? null
          yield* record("ok", objectId, detail)
        }
        return response
      })
    return Authentication.of({ secureSession: check, session: check })
  })
)

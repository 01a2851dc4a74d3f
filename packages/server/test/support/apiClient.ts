/**
 * The admin API as a script or a browser meets it: real HTTP with fetch, JSON
 * bodies, and a cookie jar that keeps what `Set-Cookie` says (and forgets
 * expired cookies), so a login carries over to the next requests.
 */
import { assert } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import type { AppConfigShape } from "../../src/config/AppConfig.ts"

/** The first admin, created at start from ADMIN_EMAIL / ADMIN_PASSWORD (see `withAdmin`). */
export const ADMIN = { email: "admin@example.com", password: "correct horse battery staple" } as const

/** Config overrides for `inProcessServer.layer`: the first admin, plus anything else given. */
export const withAdmin =
  (more: Partial<AppConfigShape> = {}) =>
  (): Partial<AppConfigShape> => ({
    adminEmail: Option.some(ADMIN.email),
    adminPassword: Option.some(Redacted.make(ADMIN.password)),
    ...more
  })

export interface ApiResponse {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  readonly body: unknown
}

export interface RequestOptions {
  /** Sent as JSON with `content-type: application/json`. */
  readonly json?: unknown
  /** Sent as is (with `content-type: application/json` unless headers say otherwise); bytes for file uploads. */
  readonly raw?: string | Uint8Array
  /** Extra headers; a `cookie` header here replaces the jar's cookies. */
  readonly headers?: Readonly<Record<string, string>>
}

export interface ApiClient {
  readonly baseUrl: string
  readonly request: (method: string, path: string, options?: RequestOptions) => Effect.Effect<ApiResponse>
  readonly get: (path: string, options?: RequestOptions) => Effect.Effect<ApiResponse>
  readonly post: (path: string, json?: unknown, options?: RequestOptions) => Effect.Effect<ApiResponse>
  readonly patch: (path: string, json: unknown, options?: RequestOptions) => Effect.Effect<ApiResponse>
  readonly delete: (path: string, options?: RequestOptions) => Effect.Effect<ApiResponse>
  /** `POST /api/auth/login`; a success puts the session cookie in the jar. */
  readonly login: (email: string, password: string) => Effect.Effect<ApiResponse>
  /** The value of a cookie in the jar. */
  readonly cookie: (name: string) => string | undefined
  /** Every response this client got, oldest first. */
  readonly responses: () => ReadonlyArray<ApiResponse>
}

const isExpired = (attributes: ReadonlyArray<string>) =>
  attributes.some((attribute) => {
    const [key = "", value = ""] = attribute.split("=").map((part) => part.trim())
    if (key.toLowerCase() === "max-age") return Number(value) <= 0
    if (key.toLowerCase() === "expires") return Date.parse(value) <= Date.now()
    return false
  })

export const makeClient = (baseUrl: string): ApiClient => {
  const jar = new Map<string, string>()
  const responses: Array<ApiResponse> = []

  const remember = (headers: Headers) => {
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";")
      const separator = pair.indexOf("=")
      const name = pair.slice(0, separator).trim()
      if (isExpired(attributes)) jar.delete(name)
      else jar.set(name, pair.slice(separator + 1).trim())
    }
  }

  const request = (method: string, path: string, options: RequestOptions = {}) =>
    Effect.promise(async (): Promise<ApiResponse> => {
      const headers: Record<string, string> = {}
      if (jar.size > 0) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ")
      const body = options.json === undefined ? options.raw : JSON.stringify(options.json)
      if (body !== undefined) headers["content-type"] = "application/json"
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...headers, ...options.headers },
        ...(body === undefined ? {} : { body })
      })
      remember(response.headers)
      const text = await response.text()
      let parsed: unknown
      try {
        parsed = text === "" ? undefined : JSON.parse(text)
      } catch {
        parsed = undefined
      }
      const result = { status: response.status, headers: response.headers, text, body: parsed }
      responses.push(result)
      return result
    })

  return {
    baseUrl,
    request,
    get: (path, options) => request("GET", path, options),
    post: (path, json, options) => request("POST", path, { ...options, json }),
    patch: (path, json, options) => request("PATCH", path, { ...options, json }),
    delete: (path, options) => request("DELETE", path, options),
    login: (email, password) => request("POST", "/api/auth/login", { json: { email, password } }),
    cookie: (name) => jar.get(name),
    responses: () => responses.slice()
  }
}

/** A client already logged in (as the first admin unless told otherwise). */
export const loggedIn = (baseUrl: string, credentials: { email: string; password: string } = ADMIN) =>
  Effect.gen(function* () {
    const client = makeClient(baseUrl)
    const response = yield* client.login(credentials.email, credentials.password)
    assert.strictEqual(response.status, 200, `login failed: ${response.text}`)
    return client
  })

/** Asserts the status and returns the body decoded with `schema` (which also checks its shape). */
export const expectBody = <S extends Schema.Codec<unknown, unknown>>(
  response: ApiResponse,
  status: number,
  schema: S
): S["Type"] => {
  assert.strictEqual(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`)
  return Schema.decodeUnknownSync(schema)(response.body)
}

const ErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String })
})

/** Asserts the contract's error shape with this status and code; returns the message. */
export const expectError = (response: ApiResponse, status: number, code: string): string => {
  assert.strictEqual(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`)
  const body = Schema.decodeUnknownSync(ErrorBody)(response.body)
  assert.strictEqual(body.error.code, code, response.text)
  return body.error.message
}

/** A UUID no row has. */
export const unknownId = "6f1c7a38-6b1e-4c55-9a53-3f4d2b6f0a11"

/**
 * What this server offers, read once from /openapi.json: which optional routes
 * exist, so the console shows a page only when the API behind it exists (an
 * older server simply has fewer pages), and the limits the API puts on a
 * bot's fields, so the form's inputs hold the same rules as the server
 * without copying them.
 */
import { api } from "./api.js"

/** Named features → a path of /openapi.json (path parameters in either `:id` or `{id}` form). */
const FEATURES = {
  jobs: "/api/jobs",
  alerts: "/api/settings/alerts",
  failuresOfEveryKind: "/api/failures/{id}/retry",
  providers: "/api/providers",
  mcpServers: "/api/mcp-servers",
  knowledge: "/api/knowledge-bases",
  account: "/api/auth/sessions",
  admins: "/api/admins",
  audit: "/api/audit"
}

const normalize = (path) => path.replace(/:(\w+)/g, "{$1}")

let loaded = null

/** The OpenAPI document, or null when it cannot be read (asked again next time). */
const openApi = () => {
  loaded ??= api.get("/openapi.json").catch(() => {
    // Try again on the next navigation rather than hiding pages for good.
    loaded = null
    return null
  })
  return loaded
}

/** A Set of the feature names this server offers; empty when /openapi.json cannot be read. */
export const capabilities = () =>
  openApi().then((document) => {
    const paths = new Set(Object.keys(document?.paths ?? {}).map(normalize))
    return new Set(Object.keys(FEATURES).filter((feature) => paths.has(FEATURES[feature])))
  })

const resolve = (schema, document) => {
  const ref = schema?.$ref
  if (typeof ref !== "string") return schema
  return resolve(document?.components?.schemas?.[ref.replace("#/components/schemas/", "")], document)
}

/** A nullable field is `anyOf: [the value, null]`: its limits are the value's. */
const nonNull = (schema, document) => {
  const resolved = resolve(schema, document)
  const branches = resolved?.anyOf ?? resolved?.oneOf
  if (!Array.isArray(branches)) return resolved
  return resolve(
    branches.find((branch) => resolve(branch, document)?.type !== "null"),
    document
  )
}

/**
 * Field path (`historyLimit`, `limits.userMessagesPerDay`) → `{ maxLength, min, max }`,
 * from a JSON Schema object's properties, nested objects included.
 */
export const limitsOf = (schema, document, prefix = "", into = new Map()) => {
  for (const [name, property] of Object.entries(nonNull(schema, document)?.properties ?? {})) {
    const value = nonNull(property, document)
    // A struct's fields are fields of their own; a record (e.g. texts per language) is one field.
    if (value?.type === "object" && Object.keys(value.properties ?? {}).length > 0)
      limitsOf(value, document, `${prefix}${name}.`, into)
    else
      into.set(`${prefix}${name}`, { maxLength: value?.maxLength, min: value?.minimum, max: value?.maximum })
  }
  return into
}

/** The limits of every bot field, as the server's POST /api/bots accepts them; empty when unknown. */
export const botFieldLimits = () =>
  openApi().then((document) =>
    limitsOf(
      document?.paths?.["/api/bots"]?.post?.requestBody?.content?.["application/json"]?.schema,
      document
    )
  )

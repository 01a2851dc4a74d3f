/**
 * Which optional routes this server has, read once from /openapi.json, so
 * the console shows a page only when the API behind it exists (an older
 * server simply has fewer pages).
 */
import { api } from "./api.js"

/** Named features → a path of /openapi.json (path parameters in either `:id` or `{id}` form). */
const FEATURES = {
  jobs: "/api/jobs",
  alerts: "/api/settings/alerts",
  failuresOfEveryKind: "/api/failures/{id}/retry",
  providers: "/api/providers",
  knowledge: "/api/knowledge-bases",
  account: "/api/auth/sessions",
  admins: "/api/admins",
  audit: "/api/audit"
}

const normalize = (path) => path.replace(/:(\w+)/g, "{$1}")

let loaded = null

/** A Set of the feature names this server offers; empty when /openapi.json cannot be read. */
export const capabilities = () => {
  loaded ??= api
    .get("/openapi.json")
    .then((document) => {
      const paths = new Set(Object.keys(document?.paths ?? {}).map(normalize))
      return new Set(Object.keys(FEATURES).filter((feature) => paths.has(FEATURES[feature])))
    })
    .catch(() => {
      // Try again on the next navigation rather than hiding pages for good.
      loaded = null
      return new Set()
    })
  return loaded
}

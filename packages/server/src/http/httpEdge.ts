/**
 * Everything every request passes before its route, in one fixed order (global
 * middleware layers would register in whatever order they happen to be built):
 *
 * 1. the request log (so refusals below are logged and carry X-Request-Id);
 * 2. HSTS on every answer when we are reached over https;
 * 3. the path rewritten to its one canonical spelling, so that everything
 *    after it sees exactly the path the router matches:
 * 4. the origin check on every state-changing request, whatever its path,
 * 5. CORS and 6. the API rate limits.
 */
import { AuthService } from "@botfleet/application"
import { Effect } from "effect"
import { HttpRouter } from "effect/http"
import { RateLimiter } from "../api/RateLimiter.ts"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { apiRateLimit } from "./apiRateLimit.ts"
import { canonicalPath } from "./canonicalPath.ts"
import { TrustProxy } from "./clientAddress.ts"
import { corsPolicy } from "./corsPolicy.ts"
import { originCheck } from "./originCheck.ts"
import { logRequests } from "./requestLog.ts"
import { strictTransport } from "./strictTransport.ts"

export const httpEdge = (config: AppConfigShape) =>
  HttpRouter.middleware(
    Effect.gen(function* () {
      const proxies = yield* TrustProxy
      const limiter = yield* RateLimiter
      const auth = yield* AuthService
      const hsts = strictTransport(config, proxies)
      const origins = originCheck(config)
      const cors = corsPolicy(config)
      const limits = apiRateLimit(
        { perSession: config.apiRateLimitPerMinute, statsPerAdmin: config.apiStatsRateLimitPerMinute },
        { limiter, auth, proxies }
      )
      return (app) => logRequests(hsts(canonicalPath(origins(cors(limits(app))))))
    }),
    { global: true }
  )

/** The admin API served: handlers, session middleware, `/openapi.json` and the UI at `/docs`. */
import { Layer } from "effect"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { Api } from "./Api.ts"
import { AuditSignInLive } from "./AuditSignInLive.ts"
import { AuthenticationLive } from "./AuthenticationLive.ts"
import { AccountHandlers } from "./handlers/AccountHandlers.ts"
import { AdminsHandlers, InvitationsHandlers } from "./handlers/AdminsHandlers.ts"
import { AuditHandlers } from "./handlers/AuditHandlers.ts"
import { AuthHandlers } from "./handlers/AuthHandlers.ts"
import { BotsHandlers } from "./handlers/BotsHandlers.ts"
import { BotUsersHandlers } from "./handlers/BotUsersHandlers.ts"
import { ChatsHandlers, FailuresHandlers } from "./handlers/ChatsHandlers.ts"
import { KnowledgeBasesHandlers } from "./handlers/KnowledgeBasesHandlers.ts"
import { ProvidersHandlers } from "./handlers/ProvidersHandlers.ts"
import { SetupHandlers } from "./handlers/SetupHandlers.ts"
import { StatsHandlers } from "./handlers/StatsHandlers.ts"
// Operations (issue 13)
import { AlertsHandlers } from "./ops/AlertsHandlers.ts"
import { JobsHandlers } from "./ops/JobsHandlers.ts"
import { WebAppHandlers } from "./ops/WebAppHandlers.ts"
import * as RateLimiterSql from "./RateLimiterSql.ts"

export const ApiRoutes = Layer.mergeAll(
  HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
    Layer.provide([
      AuthHandlers,
      AccountHandlers,
      SetupHandlers,
      BotsHandlers,
      ChatsHandlers,
      FailuresHandlers,
      StatsHandlers,
      // access and limits (issue 12)
      BotUsersHandlers,
      ProvidersHandlers
    ]),
    // Operations (issue 13)
    Layer.provide([JobsHandlers, AlertsHandlers, WebAppHandlers]),
    // Roles and the audit log
    Layer.provide([AdminsHandlers, InvitationsHandlers, AuditHandlers]),
    Layer.provide(KnowledgeBasesHandlers),
    Layer.provide(AuthenticationLive),
    // Roles and the audit log: sign-ins, which have no session
    Layer.provide(AuditSignInLive),
    // Login limits shared by every process (issue 12)
    Layer.provide(RateLimiterSql.layer)
  ),
  HttpApiScalar.layer(Api, { path: "/docs" })
)

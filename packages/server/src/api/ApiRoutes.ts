/** The admin API served: handlers, session middleware, `/openapi.json` and the UI at `/docs`. */
import { Layer } from "effect"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { Api } from "./Api.ts"
import { AuditSignInLive } from "./AuditSignInLive.ts"
import { AuthenticationLive } from "./AuthenticationLive.ts"
import { AccountHandlers } from "./handlers/AccountHandlers.ts"
import { AdminsHandlers, InvitationsHandlers } from "./handlers/AdminsHandlers.ts"
import { AlertsHandlers } from "./handlers/AlertsHandlers.ts"
import { AuditHandlers } from "./handlers/AuditHandlers.ts"
import { AuthHandlers } from "./handlers/AuthHandlers.ts"
import { BotsHandlers } from "./handlers/BotsHandlers.ts"
import { BotUsersHandlers } from "./handlers/BotUsersHandlers.ts"
import { ChatsHandlers } from "./handlers/ChatsHandlers.ts"
import { FailuresHandlers } from "./handlers/FailuresHandlers.ts"
import { JobsHandlers } from "./handlers/JobsHandlers.ts"
import { KnowledgeBasesHandlers } from "./handlers/KnowledgeBasesHandlers.ts"
import { McpServersHandlers } from "./handlers/McpServersHandlers.ts"
import { ProvidersHandlers } from "./handlers/ProvidersHandlers.ts"
import { SetupHandlers } from "./handlers/SetupHandlers.ts"
import { StatsHandlers } from "./handlers/StatsHandlers.ts"
import { WebAppHandlers } from "./handlers/WebAppHandlers.ts"
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
      // access and limits
      BotUsersHandlers,
      ProvidersHandlers,
      McpServersHandlers
    ]),
    Layer.provide([JobsHandlers, AlertsHandlers, WebAppHandlers]),
    // Roles and the audit log
    Layer.provide([AdminsHandlers, InvitationsHandlers, AuditHandlers]),
    Layer.provide(KnowledgeBasesHandlers),
    Layer.provide(AuthenticationLive),
    // Roles and the audit log: sign-ins, which have no session
    Layer.provide(AuditSignInLive),
    // Login limits shared by every process
    Layer.provide(RateLimiterSql.layer)
  ),
  HttpApiScalar.layer(Api, { path: "/docs" })
)

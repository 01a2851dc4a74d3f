/**
 * Mini App sign-in: `POST /api/webapp/:botId/session` trades signed initData
 * for a bearer token; `GET /api/webapp/:botId/me` (Authorization: Bearer)
 * returns the user's history. No admin session: the token is the credential.
 */
import { WebAppService } from "@botfleet/application"
import { BotId } from "@botfleet/domain"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, error, Unauthorized } from "../ApiErrors.ts"
import { toMessageView } from "../views.ts"

export const WebAppHandlers = HttpApiBuilder.group(
  Api,
  "webapp",
  Effect.fn(function* (handlers) {
    const webapp = yield* WebAppService
    return handlers
      .handle("session", ({ params, payload }) =>
        webapp.signIn(BotId.make(params.botId), payload.initData).pipe(
          Effect.map((session) => ({
            token: Redacted.value(session.token),
            expiresAt: session.expiresAt.toISOString(),
            user: session.user
          })),
          answerErrors
        )
      )
      .handle("me", ({ params, request }) => {
        const header = request.headers.authorization ?? ""
        const bearer = /^Bearer (\S+)$/i.exec(header)?.[1]
        if (bearer === undefined) {
          return Effect.fail(
            new Unauthorized(error("unauthorized", "Authorization: Bearer <token> required"))
          )
        }
        return webapp.me(BotId.make(params.botId), bearer).pipe(
          Effect.map((profile) => ({
            telegramUserId: profile.telegramUserId,
            messages: profile.messages.map(toMessageView),
            usage: profile.usage
          })),
          answerErrors
        )
      })
  })
)

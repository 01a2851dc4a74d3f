/**
 * `GET|PUT /api/settings/alerts`: where alerts go and how often the same one may repeat.
 * A webhook URL the outbound guard refuses is 422 `url_not_allowed`, nothing stored.
 */
import { AlertService, type AlertSettings, OutboundHttp } from "@botfleet/application"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { answerErrors, urlRefusedIn } from "../ApiErrors.ts"
import type { AlertSettingsView } from "../schemas.ts"

export const toAlertSettingsView = (settings: AlertSettings): AlertSettingsView => ({
  webhookUrl: settings.webhookUrlHint,
  telegramBotId: settings.telegramBotId,
  telegramChatIds: settings.telegramChatIds,
  cooldownMinutes: settings.cooldownMinutes
})

export const AlertsHandlers = HttpApiBuilder.group(
  Api,
  "alerts",
  Effect.fn(function* (handlers) {
    const alerts = yield* AlertService
    const outbound = yield* OutboundHttp
    // Refused before anything is stored; delivery goes through the same guard, so a name
    // that resolves elsewhere later is refused then.
    const checkWebhook = (url: string | null | undefined) =>
      url === undefined || url === null
        ? Effect.void
        : outbound.checkUrl(url).pipe(
            // The guard's refusal is about this field.
            Effect.catchTag("UrlNotAllowed", urlRefusedIn("webhookUrl"))
          )
    return handlers
      .handle("get", () => Effect.map(alerts.settings, toAlertSettingsView))
      .handle("update", ({ payload }) =>
        checkWebhook(payload.webhookUrl).pipe(
          Effect.andThen(
            alerts
              .updateSettings({
                webhookUrl:
                  payload.webhookUrl === undefined || payload.webhookUrl === null
                    ? payload.webhookUrl
                    : Redacted.make(payload.webhookUrl),
                telegramBotId: payload.telegramBotId,
                telegramChatIds: payload.telegramChatIds,
                cooldownMinutes: payload.cooldownMinutes
              })
              .pipe(Effect.map(toAlertSettingsView), answerErrors)
          )
        )
      )
  })
)

/** `GET|PUT /api/settings/alerts`: where alerts go and how often the same one may repeat. */
import { AlertService, type AlertSettings } from "@botfleet/application"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../Api.ts"
import { error, Unprocessable } from "../ApiErrors.ts"
import type { AlertSettingsView } from "./schemas.ts"

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
    return handlers
      .handle("get", () => Effect.map(alerts.settings, toAlertSettingsView))
      .handle("update", ({ payload }) =>
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
          .pipe(
            Effect.map(toAlertSettingsView),
            Effect.catchTag("AlertBotNotFound", (e) =>
              Effect.fail(new Unprocessable(error("bot_not_found", e.message)))
            )
          )
      )
  })
)

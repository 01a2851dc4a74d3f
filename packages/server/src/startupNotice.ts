/**
 * What a person starting the server needs to read next: where the console is,
 * and, while no admin exists, the one-time link that creates the owner (the
 * only place its token ever appears). When bots exist but none is enabled, a
 * hint, since nothing will answer until one is.
 */
import { BotService, FirstRunSetup } from "@botfleet/application"
import { Effect, Layer, Option } from "effect"
import { HttpServer } from "effect/http"
import type { AppConfigShape } from "./config/AppConfig.ts"

/** The console's address as a person opens it: PUBLIC_URL's, else the bound port on localhost for a wildcard host. */
export const consoleUrl = (config: AppConfigShape, bound: string): URL => {
  if (Option.isSome(config.publicUrl)) return new URL("/admin", config.publicUrl.value)
  const url = new URL(bound)
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = "localhost"
  return new URL("/admin", url)
}

export const startupNoticeLayer = (config: AppConfigShape) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      const console = consoleUrl(config, HttpServer.formatAddress(server.address))
      yield* Effect.logInfo(`console: ${console.href}`)
      const setup = yield* FirstRunSetup
      const link = yield* setup.openIfNoAdmin
      if (Option.isSome(link)) {
        yield* Effect.logWarning(
          `no admin yet: open ${console.href}/setup#${link.value.token} to create the owner account (one use, valid 60 minutes; a new link at each start until then)`
        )
      }
      const bots = yield* Effect.flatMap(BotService, (service) => service.list)
      if (bots.length > 0 && !bots.some((bot) => bot.active)) {
        yield* Effect.logInfo(
          `no bot is enabled, so none will answer: enable one in the console (${console.href}) or with POST /api/bots/<id>/enable`
        )
      }
    })
  )

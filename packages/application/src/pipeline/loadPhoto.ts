/**
 * Photos for the model (conversations, issue 11): the chosen size is
 * downloaded from Telegram for this one request and handed over as a data URL
 * (OpenAI's `image_url` content part). Nothing of it is stored: history keeps
 * a placeholder with the caption, and a rerun downloads it again.
 */
import { type Bot, type IncomingPhoto, PHOTO_MAX_BYTES } from "@botfleet/domain"
import { Effect } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import { spanFn } from "../observability/spanFn.ts"
import { TelegramGateway, type Token } from "../ports/TelegramGateway.ts"
import { matchTelegramFailure } from "./failures.ts"

const MIME_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp"
}

export type LoadedPhoto =
  | { readonly _tag: "Loaded"; readonly dataUrl: string }
  | { readonly _tag: "Unreadable"; readonly reason: string }

export const makeLoadPhoto = Effect.gen(function* () {
  const fn = yield* spanFn
  const access = yield* BotAccess
  const telegram = yield* TelegramGateway

  return fn("Pipeline.loadPhoto")(function* (bot: Bot, token: Token, photo: IncomingPhoto) {
    return yield* telegram.downloadFile(token, photo.fileId, PHOTO_MAX_BYTES).pipe(
      Effect.map(({ bytes, filePath }): LoadedPhoto => {
        const type = MIME_TYPES[filePath.split(".").pop()?.toLowerCase() ?? ""] ?? "image/jpeg"
        return { _tag: "Loaded", dataUrl: `data:${type};base64,${Buffer.from(bytes).toString("base64")}` }
      }),
      Effect.catchTag("TelegramError", (error) =>
        matchTelegramFailure(error, {
          stopBot: (reason) => access.stop(bot, reason),
          retry: Effect.fail,
          giveUp: (error) => Effect.succeed<LoadedPhoto>({ _tag: "Unreadable", reason: error.message })
        })
      )
    )
  })
})

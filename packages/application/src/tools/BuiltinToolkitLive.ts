/** The handlers of BuiltinToolkit, on the guarded outbound client and the page reader. */
import { Effect } from "effect"
import { ImageGenerator } from "../ports/ImageGenerator.ts"
import { OutboundHttp } from "../ports/Outbound.ts"
import { PageText } from "../ports/PageText.ts"
import { TelegramGateway } from "../ports/TelegramGateway.ts"
import { UsageLedger } from "../ports/UsageLedger.ts"
import { UserNotes } from "../ports/UserNotes.ts"
import { ProviderAccess } from "../providers/ProviderAccess.ts"
import { BuiltinToolkit } from "./builtins.ts"
import { currentTime } from "./currentTime.ts"
import { fetchUrl } from "./fetchUrl.ts"
import { generateImage } from "./generateImage.ts"
import { forget, remember } from "./notes.ts"
import { ToolTurn } from "./ToolTurn.ts"

export const BuiltinToolkitLive = BuiltinToolkit.toLayer(
  Effect.gen(function* () {
    const outbound = yield* OutboundHttp
    const pages = yield* PageText
    const notes = yield* UserNotes
    const images = yield* ImageGenerator
    const providers = yield* ProviderAccess
    const telegram = yield* TelegramGateway
    const ledger = yield* UsageLedger
    return BuiltinToolkit.of({
      // Without a zone named by the model: the bot's (Telegram does not tell a user's).
      current_time: (params) => Effect.flatMap(ToolTurn, ({ bot }) => currentTime(bot.timeZone)(params)),
      fetch_url: fetchUrl(outbound, pages),
      generate_image: generateImage(images, providers, telegram, ledger),
      remember: remember(notes),
      forget: forget(notes)
    })
  })
)

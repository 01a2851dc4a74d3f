/** The handlers of BuiltinToolkit, on the guarded outbound client and the page reader. */
import { Effect } from "effect"
import { OutboundHttp } from "../ports/Outbound.ts"
import { PageText } from "../ports/PageText.ts"
import { UserNotes } from "../ports/UserNotes.ts"
import { BuiltinToolkit } from "./builtins.ts"
import { currentTime } from "./currentTime.ts"
import { fetchUrl } from "./fetchUrl.ts"
import { forget, remember } from "./notes.ts"

/** Until users and bots have a time zone stored, `current_time` without one answers in UTC. */
export const DEFAULT_TIME_ZONE = "UTC"

export const BuiltinToolkitLive = BuiltinToolkit.toLayer(
  Effect.gen(function* () {
    const outbound = yield* OutboundHttp
    const pages = yield* PageText
    const notes = yield* UserNotes
    return BuiltinToolkit.of({
      current_time: currentTime(DEFAULT_TIME_ZONE),
      fetch_url: fetchUrl(outbound, pages),
      generate_image: () => Effect.fail({ reason: "not yet" }),
      remember: remember(notes),
      forget: forget(notes)
    })
  })
)

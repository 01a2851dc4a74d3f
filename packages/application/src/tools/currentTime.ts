/** current_time: now, in the asked time zone or the default one, as ISO 8601 and as people read it. */
import { isTimeZone } from "@botfleet/domain"
import { Clock, Effect } from "effect"
import type { ToolFailure } from "./builtins.ts"

/** "+01:00" for the zone at that instant (summer time included). */
const offsetOf = (at: Date, timeZone: string): string => {
  const name =
    new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(at)
      .find((part) => part.type === "timeZoneName")?.value ?? "GMT"
  const match = /^GMT([+-]\d{2}):?(\d{2})?$/.exec(name)
  return match === null ? "+00:00" : `${match[1]}:${match[2] ?? "00"}`
}

const isoIn = (at: Date, timeZone: string): string => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23"
    })
      .formatToParts(at)
      .map((part) => [part.type, part.value])
  )
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offsetOf(at, timeZone)}`
}

/** `defaultTimeZone`: the user's when known, else the bot's; UTC until either is stored. */
export const currentTime = (defaultTimeZone: string) =>
  Effect.fn("tool.current_time")(function* (params: { readonly timeZone?: string | undefined }) {
    const timeZone = params.timeZone ?? defaultTimeZone
    if (!isTimeZone(timeZone)) {
      return yield* Effect.fail<ToolFailure>({
        reason: `unknown time zone "${timeZone}": use an IANA name such as Europe/Berlin`
      })
    }
    const at = new Date(yield* Clock.currentTimeMillis)
    return {
      timeZone,
      iso: isoIn(at, timeZone),
      local: new Intl.DateTimeFormat("en-GB", {
        timeZone,
        dateStyle: "full",
        timeStyle: "short"
      }).format(at)
    }
  })

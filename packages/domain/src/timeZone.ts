/** IANA time zones, as the runtime's Intl knows them (Europe/Berlin, America/New_York, UTC…). */
import { Schema } from "effect"
import { InputString } from "./text.ts"

export const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-GB", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

export const DEFAULT_TIME_ZONE = "UTC"

/** A bot's time zone as an admin sends it: a known IANA name. */
export const TimeZoneInput = InputString.check(
  Schema.isMinLength(1),
  Schema.isMaxLength(64),
  Schema.makeFilter((zone: string) => isTimeZone(zone), {
    expected: "an IANA time zone such as Europe/Berlin"
  })
)

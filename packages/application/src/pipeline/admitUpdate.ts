/**
 * The one rule for a Telegram update entering the inbox (webhook and poller
 * alike). An update is JSON someone else wrote; before it is stored:
 *
 * - nesting is bounded (`MAX_UPDATE_DEPTH`): deeper values are cut off, so
 *   nothing later overflows the stack turning it back into JSON;
 * - strings (keys and values) lose what PostgreSQL cannot hold: NUL and lone
 *   surrogates become U+FFFD, the rest of the text is kept;
 * - it has a whole, non-negative `update_id`.
 *
 * The Telegram adapter then decodes the safe copy once into an
 * `IncomingUpdate` (`TelegramGateway.readUpdate`), which checks the fields the
 * pipeline reads. The webhook answers 400 to an update with a problem and
 * stores nothing; the poller cannot refuse what Telegram hands it, so it
 * stores the safe copy and the pipeline parks it as failed on its first attempt.
 */
import { storableText } from "@botfleet/domain"

/** Real updates nest about ten levels (a reply's entities' users); 5,000 is an attack. */
export const MAX_UPDATE_DEPTH = 32

export interface Admission {
  /** Undefined when the payload has no whole, non-negative `update_id`. */
  readonly updateId: number | undefined
  /** The payload with unsafe characters replaced and anything too deep cut off: always storable. */
  readonly payload: unknown
  /** Why the update cannot be processed, or null. */
  readonly problem: string | null
}

/** The update id, if the payload has one (the webhook rejects payloads without). */
const updateIdOf = (payload: unknown): number | undefined => {
  const id = (payload as { update_id?: unknown } | null)?.update_id
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 ? id : undefined
}

export const admitUpdate = (body: unknown): Admission => {
  let tooDeep = false
  // Copies only what changes: a clean update (nearly all of them) comes back as the same object.
  const safe = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return storableText(value)
    if (typeof value !== "object" || value === null) return value
    if (depth >= MAX_UPDATE_DEPTH) {
      tooDeep = true
      return null
    }
    if (Array.isArray(value)) {
      let copy: Array<unknown> | undefined
      for (let index = 0; index < value.length; index++) {
        const item = safe(value[index], depth + 1)
        if (copy === undefined && item !== value[index]) copy = value.slice(0, index)
        copy?.push(item)
      }
      return copy ?? value
    }
    const entries = Object.entries(value)
    let changed = false
    for (const entry of entries) {
      const key = storableText(entry[0])
      const item = safe(entry[1], depth + 1)
      if (key !== entry[0] || item !== entry[1]) changed = true
      entry[0] = key
      entry[1] = item
    }
    // fromEntries defines own properties: a "__proto__" key stays a key.
    return changed ? Object.fromEntries(entries) : value
  }
  const payload = safe(body, 0)
  const updateId = updateIdOf(payload)
  const problem = tooDeep
    ? `the update is nested deeper than ${MAX_UPDATE_DEPTH} levels`
    : updateId === undefined
      ? "the update has no update_id (a whole number from 0)"
      : null
  return { updateId, payload, problem }
}

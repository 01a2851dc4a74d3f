/**
 * Telegram Mini App `initData` checking, as Telegram specifies it
 * (core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
 * the data-check-string is every field but `hash`, sorted, as `key=value`
 * lines; the secret key is HMAC-SHA256("WebAppData", bot token); the hash is
 * HMAC-SHA256(secret key, data-check-string) in hex.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export interface WebAppUser {
  readonly id: number
  readonly firstName: string
  readonly username: string | null
}

export type InitDataCheck =
  | { readonly _tag: "Valid"; readonly user: WebAppUser; readonly authDate: number }
  | { readonly _tag: "Invalid"; readonly reason: string }

const invalid = (reason: string): InitDataCheck => ({ _tag: "Invalid", reason })

export const initDataHash = (fields: ReadonlyArray<readonly [string, string]>, botToken: string): string => {
  const dataCheckString = [...fields]
    .filter(([key]) => key !== "hash")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("\n")
  const secretKey = createHmac("sha256", "WebAppData").update(botToken).digest()
  return createHmac("sha256", secretKey).update(dataCheckString).digest("hex")
}

/** Checks `initData` against the bot's token and the age limit; `nowSeconds` is Unix time. */
export const checkInitData = (
  initData: string,
  botToken: string,
  nowSeconds: number,
  maxAgeSeconds: number
): InitDataCheck => {
  const fields = [...new URLSearchParams(initData).entries()]
  const hash = fields.find(([key]) => key === "hash")?.[1]
  if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash)) return invalid("initData has no valid hash")
  const expected = Buffer.from(initDataHash(fields, botToken), "hex")
  if (!timingSafeEqual(expected, Buffer.from(hash, "hex")))
    return invalid("initData signature does not match")
  const authDate = Number(fields.find(([key]) => key === "auth_date")?.[1])
  if (!Number.isInteger(authDate)) return invalid("initData has no auth_date")
  if (nowSeconds - authDate > maxAgeSeconds) return invalid("initData expired")
  const rawUser = fields.find(([key]) => key === "user")?.[1]
  if (rawUser === undefined) return invalid("initData has no user")
  let parsed: unknown
  try {
    parsed = JSON.parse(rawUser)
  } catch {
    return invalid("initData user is not JSON")
  }
  const user = parsed as { id?: unknown; first_name?: unknown; username?: unknown }
  if (typeof user.id !== "number" || !Number.isSafeInteger(user.id)) return invalid("initData user has no id")
  return {
    _tag: "Valid",
    authDate,
    user: {
      id: user.id,
      firstName: typeof user.first_name === "string" ? user.first_name : "",
      username: typeof user.username === "string" ? user.username : null
    }
  }
}

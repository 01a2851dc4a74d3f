/**
 * Mini App sign-in: a Telegram user proves who they are with the bot's signed
 * `initData` and gets a short-lived bearer token for that bot; with it they
 * read their own chat history and usage. The token is the sealed (AES-GCM,
 * SecretBox) `{ botId, userId, exp }`, so nothing is stored and a forged or
 * altered token does not open.
 */
import { type BotId, ChatId, type Message } from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Redacted, Schema } from "effect"
import { BotAccess } from "../bots/BotAccess.ts"
import { ChatRepository, MessageRepository } from "../ports/Repositories.ts"
import { SecretBox } from "../ports/SecretBox.ts"
import { checkInitData, type WebAppUser } from "./initData.ts"

/** How long a Mini App token lasts. */
export const WEBAPP_TOKEN_SECONDS = 3600
/** Messages of the history /me returns (the newest). */
const HISTORY_SIZE = 50

export class WebAppUnauthorized extends Schema.TaggedError<WebAppUnauthorized>()("WebAppUnauthorized", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export interface WebAppSession {
  readonly token: Redacted.Redacted<string>
  readonly expiresAt: Date
  readonly user: WebAppUser
}

export interface WebAppProfile {
  readonly telegramUserId: number
  /** The user's private chat with the bot, newest first; empty before they wrote. */
  readonly messages: ReadonlyArray<Message>
  /** Over those messages. */
  readonly usage: {
    readonly messages: number
    readonly inputTokens: number
    readonly outputTokens: number
    readonly costUsd: number
  }
}

const TokenClaims = Schema.fromJsonString(
  Schema.Struct({ botId: Schema.String, userId: Schema.Number, exp: Schema.Number })
)

export class WebAppService extends Context.Service<
  WebAppService,
  {
    readonly signIn: (botId: BotId, initData: string) => Effect.Effect<WebAppSession, WebAppUnauthorized>
    readonly me: (botId: BotId, bearer: string) => Effect.Effect<WebAppProfile, WebAppUnauthorized>
  }
>()("@botfleet/application/WebAppService") {
  static readonly layer = (options: { readonly maxAgeSeconds: number }) =>
    Layer.effect(
      WebAppService,
      Effect.gen(function* () {
        const access = yield* BotAccess
        const box = yield* SecretBox
        const chats = yield* ChatRepository
        const messages = yield* MessageRepository
        const unauthorized = (reason: string) => Effect.fail(new WebAppUnauthorized({ reason }))

        const signIn = Effect.fn("WebAppService.signIn")(function* (botId: BotId, initData: string) {
          const { token } = yield* access.load(botId).pipe(
            Effect.catchTags({
              BotNotFound: () => unauthorized("unknown bot"),
              SecretUnreadable: () => unauthorized("bot unavailable")
            })
          )
          const now = yield* Clock.currentTimeMillis
          const check = checkInitData(
            initData,
            Redacted.value(token),
            Math.floor(now / 1000),
            options.maxAgeSeconds
          )
          if (check._tag === "Invalid") return yield* unauthorized(check.reason)
          const exp = Math.floor(now / 1000) + WEBAPP_TOKEN_SECONDS
          const sealed = yield* box.encrypt(
            Redacted.make(JSON.stringify({ botId, userId: check.user.id, exp }))
          )
          return { token: Redacted.make(sealed), expiresAt: new Date(exp * 1000), user: check.user }
        })

        const me = Effect.fn("WebAppService.me")(function* (botId: BotId, bearer: string) {
          const opened = yield* box
            .decrypt(bearer)
            .pipe(Effect.catchTag("SecretUnreadable", () => unauthorized("invalid token")))
          const claims = yield* Schema.decodeUnknownEffect(TokenClaims)(Redacted.value(opened)).pipe(
            Effect.catchTag("SchemaError", () => unauthorized("invalid token"))
          )
          if (claims.botId !== botId) return yield* unauthorized("token is for another bot")
          if (claims.exp * 1000 < (yield* Clock.currentTimeMillis))
            return yield* unauthorized("token expired")
          const found = yield* chats.list({ botId, tgUserId: claims.userId }, { limit: 50 })
          const privateChat = found.items.find((chat) => chat.type === "private")
          const history =
            privateChat === undefined
              ? []
              : (yield* messages.listByChat(ChatId.make(privateChat.id), { limit: HISTORY_SIZE })).items
          const usage = history.reduce(
            (sum, message) => ({
              messages: sum.messages + 1,
              inputTokens: sum.inputTokens + message.inputTokens,
              outputTokens: sum.outputTokens + message.outputTokens,
              costUsd: sum.costUsd + message.costUsd
            }),
            { messages: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }
          )
          return { telegramUserId: claims.userId, messages: history, usage }
        })

        return WebAppService.of({ signIn, me })
      })
    )
}

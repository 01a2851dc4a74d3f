/**
 * Step 1: the user, the chat and the incoming message are stored (the message
 * once per bot + update), and membership changes are recorded on the chat.
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  type Chat,
  ChatModel,
  type Message,
  MessageId,
  MessageModel,
  TelegramUserId,
  TgUser
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"
import { spanFn } from "../observability/spanFn.ts"
import { ChatRepository, MessageRepository } from "../ports/Repositories.ts"
import * as VersionedCache from "../settings/VersionedCache.ts"
import type { IncomingEvent, TelegramUser } from "./telegramUpdate.ts"

/** How often one process rewrites a Telegram user's names and last-seen time. */
export const USER_REFRESH_MS = 60_000

/** Users whose last write is remembered, per process; the least recently seen go first. */
const USERS_SEEN_SIZE = 100_000

export type MessageEvent = Extract<IncomingEvent, { kind: "message" }>
export type MembershipEvent = Extract<IncomingEvent, { kind: "membership" }>

export interface SavedIncoming {
  readonly chat: Chat
  readonly message: Message
  /** Stored just now (false: an earlier run of this update stored it). */
  readonly isNew: boolean
}

export class SaveIncoming extends Context.Service<
  SaveIncoming,
  {
    readonly message: (bot: Bot, event: MessageEvent) => Effect.Effect<SavedIncoming>
    /** The bot was blocked, kicked or re-added: admins see it on the chat. */
    readonly membership: (bot: Bot, event: MembershipEvent) => Effect.Effect<void>
  }
>()("@botfleet/application/SaveIncoming") {
  static readonly layer = Layer.effect(
    SaveIncoming,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository

      const toTgUser = (user: TelegramUser, at: Date) =>
        new TgUser({
          telegramId: TelegramUserId.make(user.id),
          firstName: user.first_name ?? "",
          lastName: user.last_name ?? null,
          username: user.username ?? null,
          languageCode: user.language_code ?? null,
          isBot: user.is_bot ?? false,
          firstSeenAt: at,
          lastSeenAt: at
        })

      // Names and language rarely change: a user is written at most once a minute per process.
      // What is kept is when, not a setting: one version (0) for all.
      const usersSeen = VersionedCache.make<number, number>(USERS_SEEN_SIZE)
      const rememberUser = fn("SaveIncoming.rememberUser")(function* (user: TelegramUser, at: Date) {
        const seen = usersSeen.find(user.id, 0)
        if (seen !== undefined && at.getTime() - seen < USER_REFRESH_MS) return
        yield* chats.upsertUser(toTgUser(user, at))
        usersSeen.set(user.id, 0, at.getTime())
      })

      const message = fn("Pipeline.ensureIncomingSaved")(function* (bot: Bot, event: MessageEvent) {
        const at = new Date(yield* Clock.currentTimeMillis)
        // A message sent as a chat (channel, anonymous admin) carries a placeholder account in `from`.
        const person = event.sentAsChat ? null : event.from
        if (person) yield* rememberUser(person, at)
        const chat = yield* chats.findOrCreate({
          botId: bot.id,
          telegramChatId: event.chat.id,
          type: event.chat.type,
          title: event.chat.title ?? null,
          tgUserId: event.chat.type === "private" && person ? person.id : null,
          lastMessageAt: at
        })
        const id = MessageId.make(randomUUID())
        const stored = yield* messages.insert(
          MessageModel.incoming({
            id,
            chatId: chat.id,
            botId: bot.id,
            thread: chat.thread,
            tgUserId: person ? TelegramUserId.make(person.id) : null,
            updateId: event.updateId,
            telegramMessageId: event.messageId,
            // A photo is stored as a placeholder with its caption: the bytes stay at Telegram.
            text: event.unsupported
              ? `[${event.unsupported}]`
              : event.photo !== null
                ? `[photo]${event.text === "" ? "" : ` ${event.text}`}`
                : event.text,
            senderName: event.senderName,
            kind:
              event.recording?.kind ??
              (event.photo !== null ? "photo" : event.unsupported ? "other" : "text"),
            mediaSeconds: event.recording?.durationSeconds ?? null,
            at
          })
        )
        // A message stored by an earlier run of this update keeps its own id.
        return { chat, message: stored, isNew: stored.id === id }
      })

      const membership = fn("Pipeline.recordMembership")(function* (bot: Bot, event: MembershipEvent) {
        const chat = yield* chats.findOrCreate({
          botId: bot.id,
          telegramChatId: event.chat.id,
          type: event.chat.type,
          title: event.chat.title ?? null,
          tgUserId: null
        })
        const removed = event.status === "kicked" || event.status === "left"
        const lastError = removed
          ? `the bot was ${event.status === "kicked" ? "blocked or removed" : "removed"}`
          : null
        yield* chats.update(new ChatModel.Chat({ ...chat, lastError })).pipe(Effect.orDie)
      })

      return SaveIncoming.of({ message, membership })
    })
  )
}

/**
 * Step 1: the user, the chat and the incoming message are stored (the message
 * once per bot + update), and membership changes are recorded on the chat.
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  type ButtonPress,
  type Chat,
  ChatModel,
  type ChatRef,
  type IncomingMessage,
  type MembershipChange,
  type Message,
  MessageId,
  type MessageKind,
  MessageModel,
  type Sender,
  TelegramUserId,
  TgUser
} from "@botfleet/domain"
import { Clock, Context, Effect, Layer } from "effect"
import { spanFn } from "../observability/spanFn.ts"
import { ChatRepository, MessageRepository } from "../ports/Repositories.ts"
import * as VersionedCache from "../settings/VersionedCache.ts"

/** How often one process rewrites a Telegram user's names and last-seen time. */
export const USER_REFRESH_MS = 60_000

/** Users whose last write is remembered, per process; the least recently seen go first. */
const USERS_SEEN_SIZE = 100_000

export interface SavedIncoming {
  readonly chat: Chat
  readonly message: Message
  /** Stored just now (false: an earlier run of this update stored it). */
  readonly isNew: boolean
}

export class SaveIncoming extends Context.Service<
  SaveIncoming,
  {
    readonly message: (bot: Bot, event: IncomingMessage) => Effect.Effect<SavedIncoming>
    /**
     * A press of a command button, stored as the command its sender asked for
     * (`text`, e.g. "/help"); the press has no message of its own.
     */
    readonly press: (
      bot: Bot,
      press: ButtonPress & { readonly chat: ChatRef },
      text: string
    ) => Effect.Effect<SavedIncoming>
    /** The bot was blocked, kicked or re-added: admins see it on the chat. */
    readonly membership: (bot: Bot, event: MembershipChange) => Effect.Effect<void>
  }
>()("@botfleet/application/SaveIncoming") {
  static readonly layer = Layer.effect(
    SaveIncoming,
    Effect.gen(function* () {
      const fn = yield* spanFn
      const chats = yield* ChatRepository
      const messages = yield* MessageRepository

      const toTgUser = (user: Sender, at: Date) =>
        new TgUser({
          telegramId: TelegramUserId.make(user.id),
          firstName: user.firstName,
          lastName: user.lastName,
          username: user.username,
          languageCode: user.languageCode,
          isBot: user.isBot,
          firstSeenAt: at,
          lastSeenAt: at
        })

      // Names and language rarely change: a user is written at most once a minute per process.
      // What is kept is when, not a setting: one version (0) for all.
      const usersSeen = VersionedCache.make<number, number>(USERS_SEEN_SIZE)
      const rememberUser = fn("SaveIncoming.rememberUser")(function* (user: Sender, at: Date) {
        const seen = usersSeen.find(user.id, 0)
        if (seen !== undefined && at.getTime() - seen < USER_REFRESH_MS) return
        yield* chats.upsertUser(toTgUser(user, at))
        usersSeen.set(user.id, 0, at.getTime())
      })

      /** The sender, the chat and the incoming message; what differs by input kind is `stored`. */
      const save = Effect.fnUntraced(function* (
        bot: Bot,
        input: {
          readonly updateId: number
          readonly chat: ChatRef
          /** Who wrote, when it is a person (not a channel or a chat speaking). */
          readonly person: Sender | null
          readonly telegramMessageId: number | null
          readonly text: string
          readonly senderName: string | null
          readonly kind: MessageKind
          readonly mediaSeconds: number | null
          /** The forum topic it was written in: its own history within the chat. */
          readonly topicId: number | null
        }
      ) {
        const at = new Date(yield* Clock.currentTimeMillis)
        const { person } = input
        if (person) yield* rememberUser(person, at)
        const found = yield* chats.findOrCreate({
          botId: bot.id,
          telegramChatId: input.chat.id,
          type: input.chat.type,
          title: input.chat.title,
          tgUserId: input.chat.type === "private" && person ? person.id : null,
          lastMessageAt: at
        })
        // A topic's first message gives it a thread of its own (once per topic), so /new elsewhere leaves it be.
        const pinned = ChatModel.pinTopic(found, input.topicId)
        if (pinned !== null) yield* chats.update(pinned).pipe(Effect.orDie)
        const chat = pinned ?? found
        const id = MessageId.make(randomUUID())
        const stored = yield* messages.insert(
          MessageModel.incoming({
            id,
            chatId: chat.id,
            botId: bot.id,
            thread: ChatModel.threadOf(chat, input.topicId),
            tgUserId: person ? TelegramUserId.make(person.id) : null,
            updateId: input.updateId,
            telegramMessageId: input.telegramMessageId,
            text: input.text,
            senderName: input.senderName,
            kind: input.kind,
            mediaSeconds: input.mediaSeconds,
            topicId: input.topicId,
            at
          })
        )
        // A message stored by an earlier run of this update keeps its own id.
        return { chat, message: stored, isNew: stored.id === id }
      })

      const message = fn("Pipeline.ensureIncomingSaved")((bot: Bot, event: IncomingMessage) =>
        save(bot, {
          updateId: event.updateId,
          chat: event.chat,
          // A message sent as a chat (channel, anonymous admin) carries a placeholder account in `from`.
          person: event.sentAsChat ? null : event.from,
          telegramMessageId: event.messageId,
          // A photo is stored as a placeholder with its caption: the bytes stay at Telegram.
          text: event.unsupported
            ? `[${event.unsupported}]`
            : event.photo !== null
              ? `[photo]${event.text === "" ? "" : ` ${event.text}`}`
              : event.text,
          senderName: event.senderName,
          kind:
            event.recording?.kind ?? (event.photo !== null ? "photo" : event.unsupported ? "other" : "text"),
          mediaSeconds: event.recording?.durationSeconds ?? null,
          topicId: event.topicId
        })
      )

      const press = fn("Pipeline.ensurePressSaved")(
        (bot: Bot, event: ButtonPress & { readonly chat: ChatRef }, text: string) =>
          save(bot, {
            updateId: event.updateId,
            chat: event.chat,
            person: event.from,
            // A press is not a message in the chat: nothing of Telegram's to point back to.
            telegramMessageId: null,
            text,
            senderName: null,
            kind: "text",
            mediaSeconds: null,
            topicId: event.topicId
          })
      )

      const membership = fn("Pipeline.recordMembership")(function* (bot: Bot, event: MembershipChange) {
        const chat = yield* chats.findOrCreate({
          botId: bot.id,
          telegramChatId: event.chat.id,
          type: event.chat.type,
          title: event.chat.title,
          tgUserId: null
        })
        const removed = event.status === "kicked" || event.status === "left"
        const lastError = removed
          ? `the bot was ${event.status === "kicked" ? "blocked or removed" : "removed"}`
          : null
        yield* chats.update(new ChatModel.Chat({ ...chat, lastError })).pipe(Effect.orDie)
      })

      return SaveIncoming.of({ message, press, membership })
    })
  )
}

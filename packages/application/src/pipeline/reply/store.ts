/**
 * Storing a reply, the end of every answer: the insert is idempotent on
 * reply_to, so a rerun gets the stored reply back and nothing is made twice.
 */
import { randomUUID } from "node:crypto"
import {
  type Bot,
  botTexts,
  type Chat,
  ChatModel,
  type FailureKind,
  type Message,
  MessageId,
  MessageModel,
  type Usage
} from "@botfleet/domain"
import { Clock, Effect } from "effect"
import { spanFn } from "../../observability/spanFn.ts"
import { ChatRepository, EffectOutbox, MessageRepository, Transactions } from "../../ports/Repositories.ts"
import { timed } from "../timed.ts"

export const makeStoreReply = Effect.gen(function* () {
  const fn = yield* spanFn
  const chats = yield* ChatRepository
  const messages = yield* MessageRepository
  const outbox = yield* EffectOutbox
  const transactions = yield* Transactions

  const newReply = (incoming: Message, text: string, usage?: Usage, spoken = false) =>
    Effect.map(Clock.currentTimeMillis, (now) =>
      MessageModel.reply(incoming, {
        id: MessageId.make(randomUUID()),
        text,
        at: new Date(now),
        ...(usage === undefined ? {} : { usage }),
        spoken
      })
    )

  const save = fn("Pipeline.ensureResponseSaved")((reply: Message) =>
    timed("response_saved", messages.insert(reply))
  )

  /**
   * `text` as the reply to `incoming`, with the model's usage when the model
   * wrote it; `spoken`: to be sent as a voice note (voiceReplies.ts).
   */
  const answer = (incoming: Message, text: string, usage?: Usage, spoken?: boolean) =>
    Effect.flatMap(newReply(incoming, text, usage, spoken), save)

  /**
   * `/new` (`/refresh`): the new thread (the topic's, in a forum topic) and the
   * reply are stored together, so a rerun finds the reply and stops.
   */
  const inNewThread = (chat: Chat, incoming: Message, text: string) =>
    Effect.flatMap(newReply(incoming, text), (reply) =>
      transactions.withTransaction(
        Effect.gen(function* () {
          const current = yield* chats.findById(chat.id).pipe(Effect.orDie)
          yield* chats.update(ChatModel.startNewThread(current, incoming.topicId).state).pipe(Effect.orDie)
          return yield* save(reply)
        })
      )
    )

  /**
   * `/retry`: the answer after the question (and the `/retry` itself) leave
   * the model's history, in one transaction; the new answer is then made as
   * any other, stored as the reply to the `/retry`, so a rerun finds it.
   */
  const replace = (stale: ReadonlyArray<Message>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      transactions.withTransaction(
        Effect.forEach(
          stale,
          (message) => messages.update(MessageModel.replaced(message, new Date(now))).pipe(Effect.orDie),
          { discard: true }
        )
      )
    )

  /**
   * A failure we will not retry: the bot's error message is stored as a
   * failed reply (to be sent), in the sender's language (`languageCode`),
   * and admins get `notice`.
   */
  const failed = fn("Pipeline.saveFailedReply")(function* (
    bot: Bot,
    chat: Chat,
    incoming: Message,
    reason: string,
    notice: string,
    kind: FailureKind = "other",
    languageCode: string | null = null
  ) {
    const text = botTexts(bot, languageCode).text("error")
    const reply = yield* save(MessageModel.failed(yield* newReply(incoming, text), reason, kind))
    yield* outbox.enqueue([{ _tag: "NotifyAdmins", botId: bot.id, chatId: chat.id, message: notice }])
    return reply
  })

  return { answer, inNewThread, replace, failed }
})

export type StoreReply = Effect.Success<typeof makeStoreReply>

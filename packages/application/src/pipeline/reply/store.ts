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

  /** `/refresh`: the new thread and the reply are stored together, so a rerun finds the reply and stops. */
  const inNewThread = (chat: Chat, incoming: Message, text: string) =>
    Effect.flatMap(newReply(incoming, text), (reply) =>
      transactions.withTransaction(
        Effect.gen(function* () {
          const current = yield* chats.findById(chat.id).pipe(Effect.orDie)
          yield* chats.update(ChatModel.startNewThread(current).state).pipe(Effect.orDie)
          return yield* save(reply)
        })
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

  return { answer, inNewThread, failed }
})

export type StoreReply = Effect.Success<typeof makeStoreReply>

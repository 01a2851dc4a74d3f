/**
 * What the model reads for one answer: the bot's system prompt, then the
 * chat's current thread (a recording's transcript is its message's stored
 * text), the message being answered last. A photo being answered (with
 * `vision` on) is downloaded from Telegram for this one request and handed
 * over as a data URL (OpenAI's `image_url` content part); nothing of it is
 * stored: history keeps a placeholder with the caption, and a rerun downloads
 * it again. A bot with knowledge bases gets the passages its question finds as
 * a system message of numbered sources, right before the history; a bot
 * without any costs no query, nor does one whose knowledgeMode is "tool" (the
 * model searches with search_knowledge instead). In a private chat the notes
 * the bot kept about the sender (remember) follow the system messages.
 * Earlier replies' tool calls and results follow the messages they answered
 * (a bot with tools only). Another source of context is another step of
 * `gather`. Which messages of the thread go, by tokens and with the running
 * summary, is history.ts's.
 */
import {
  type Bot,
  type Chat,
  type IncomingContent,
  type IncomingPhoto,
  KnowledgeModel,
  llmRole,
  type Message,
  type MessageId,
  notesPrompt,
  PHOTO_MAX_BYTES,
  speakerText,
  textsFor,
  userLanguageLine
} from "@botfleet/domain"
import { Effect } from "effect"
import { BotAccess } from "../../bots/BotAccess.ts"
import { KnowledgeService, type Retrieved } from "../../knowledge/KnowledgeService.ts"
import { spanFn } from "../../observability/spanFn.ts"
import type { ChatTurn } from "../../ports/LanguageModel.ts"
import { TelegramGateway, type Token } from "../../ports/TelegramGateway.ts"
import { ToolCallRepository } from "../../ports/ToolCalls.ts"
import { UserNotes } from "../../ports/UserNotes.ts"
import { matchTelegramFailure } from "../failures.ts"
import { leadWith, makeHistory, type Selection, type Spent } from "./history.ts"
import { toolTurnsOf } from "./tools.ts"

const MIME_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp"
}

type LoadedPhoto =
  | { readonly _tag: "Loaded"; readonly dataUrl: string }
  | { readonly _tag: "Unreadable"; readonly reason: string }

export type ReplyContext =
  | {
      readonly _tag: "Ready"
      readonly turns: ReadonlyArray<ChatTurn>
      /** The same within half the history's room: asked once when the model finds `turns` too long. */
      readonly shorter: () => ReadonlyArray<ChatTurn>
      /** A summary made and the question embedded for this answer: counted with the answer's use. */
      readonly spent: Spent
    }
  /** Something the answer needs cannot be read: answer with `reply` instead of asking the model. */
  | { readonly _tag: "Unreadable"; readonly reply: string }
  /** A bot answering only from its knowledge bases found nothing: `reply` says so, no model asked. */
  | { readonly _tag: "NotInKnowledge"; readonly reply: string }

/**
 * The turns the model reads; the photo being answered goes as an image with
 * its caption, and the asker's Telegram language, when it is not the bot's,
 * is named after the prompt.
 */
export const turnsOf = (
  bot: Bot,
  chat: Chat,
  incoming: Message,
  history: ReadonlyArray<Message>,
  current: { readonly caption: string; readonly image: string | null; readonly languageCode?: string | null },
  passages: ReadonlyArray<KnowledgeModel.SourcePassage> = [],
  toolTurns: ReadonlyMap<MessageId, ReadonlyArray<ChatTurn>> = new Map()
): Array<ChatTurn> => {
  const turns: Array<ChatTurn> = []
  if (bot.systemPrompt.trim() !== "") turns.push({ role: "system", content: bot.systemPrompt })
  const language = userLanguageLine(current.languageCode, bot.language)
  if (language !== null) turns.push({ role: "system", content: language })
  if (passages.length > 0) {
    turns.push({ role: "system", content: KnowledgeModel.knowledgePrompt(passages, bot.knowledgeOnly) })
  } else if (bot.knowledgeOnly && bot.knowledgeMode === "tool" && bot.knowledgeBaseIds.length > 0) {
    turns.push({ role: "system", content: KnowledgeModel.KNOWLEDGE_TOOL_ONLY_PROMPT })
  }
  for (const message of history) {
    const role = llmRole(message.role)
    // Earlier photos stay placeholders.
    const withImage = current.image !== null && message.id === incoming.id
    const text = withImage ? current.caption : message.text
    const content = role === "user" ? speakerText(chat.type, message.senderName, text) : text
    turns.push(withImage ? { role, content, images: [current.image] } : { role, content })
    // The tools an earlier question made the bot call, between it and the answer.
    const called = toolTurns.get(message.id)
    if (called !== undefined) turns.push(...called)
  }
  return turns
}

const NOTHING_FOUND: Retrieved = { passages: [], spent: { tokens: 0, costUsd: 0 } }

export const makeGatherContext = Effect.gen(function* () {
  const fn = yield* spanFn
  const access = yield* BotAccess
  const telegram = yield* TelegramGateway
  const thread = yield* makeHistory
  const knowledge = yield* KnowledgeService
  const userNotes = yield* UserNotes
  const toolCalls = yield* ToolCallRepository

  /** Earlier questions' tool calls as turns, by question; a bot without tools costs no query. */
  const earlierToolTurns = Effect.fnUntraced(function* (
    bot: Bot,
    incoming: Message,
    history: ReadonlyArray<Message>
  ) {
    const byMessage = new Map<MessageId, ReadonlyArray<ChatTurn>>()
    if (bot.maxToolSteps === 0 || (bot.tools.length === 0 && bot.mcpServerIds.length === 0)) return byMessage
    const asked = history.filter((message) => message.role === "user" && message.id !== incoming.id)
    const calls = yield* toolCalls.forMessages(asked.map((message) => message.id))
    for (const message of asked) {
      const own = calls.filter((call) => call.messageId === message.id)
      if (own.length > 0) byMessage.set(message.id, toolTurnsOf(own))
    }
    return byMessage
  })

  /**
   * The passages for this question. Retrieval failing must not cost the user
   * the answer: an embeddings server down leaves full text alone, and anything
   * else failing leaves no passages; both logged.
   */
  const findPassages = fn("Pipeline.findPassages")(function* (bot: Bot, question: string) {
    return yield* knowledge
      .retrieveCosted(bot.knowledgeBaseIds, question, { textOnlyOnEmbeddingError: true })
      .pipe(
        Effect.catch((error) =>
          Effect.as(
            Effect.logWarning("knowledge not retrieved, answering without passages", {
              bot_id: bot.id,
              reason: error.message
            }),
            NOTHING_FOUND
          )
        )
      )
  })

  const loadPhoto = fn("Pipeline.loadPhoto")(function* (bot: Bot, token: Token, photo: IncomingPhoto) {
    return yield* telegram.downloadFile(token, photo.fileId, PHOTO_MAX_BYTES).pipe(
      Effect.map(({ bytes, filePath }): LoadedPhoto => {
        const type = MIME_TYPES[filePath.split(".").pop()?.toLowerCase() ?? ""] ?? "image/jpeg"
        return { _tag: "Loaded", dataUrl: `data:${type};base64,${Buffer.from(bytes).toString("base64")}` }
      }),
      Effect.catchTag("TelegramError", (error) =>
        matchTelegramFailure(error, {
          stopBot: (reason) => access.stop(bot, reason),
          retry: Effect.fail,
          giveUp: (error) => Effect.succeed<LoadedPhoto>({ _tag: "Unreadable", reason: error.message })
        })
      )
    )
  })

  return (bot: Bot, token: Token, chat: Chat, incoming: Message, content: IncomingContent) =>
    Effect.gen(function* () {
      let image: string | null = null
      if (content.photo != null && bot.vision) {
        const loaded = yield* loadPhoto(bot, token, content.photo)
        if (loaded._tag === "Unreadable") {
          yield* Effect.logWarning("photo not loaded", { bot_id: bot.id, reason: loaded.reason })
          return {
            _tag: "Unreadable",
            reply: textsFor(bot, content).text("photo.unreadable")
          } satisfies ReplyContext
        }
        image = loaded.dataUrl
      }
      // A forum topic is its own conversation: only its messages are read, in its thread.
      const history = yield* thread.read(bot, chat, incoming)
      // A recording's question is its transcript, stored as the message's text; a photo's is its caption.
      const question =
        content.recording != null
          ? (history.find((message) => message.id === incoming.id)?.text ?? incoming.text)
          : content.text
      // No knowledge bases, no query: the common bot pays nothing for the feature. In "tool"
      // mode the model searches itself (search_knowledge), so nothing is found beforehand.
      const injects = bot.knowledgeBaseIds.length > 0 && bot.knowledgeMode === "inject"
      const { passages, spent } = injects ? yield* findPassages(bot, question) : NOTHING_FOUND
      // knowledgeOnly is a rule about the bot's knowledge bases: without any, it has nothing to restrict.
      if (bot.knowledgeOnly && injects && passages.length === 0) {
        return {
          _tag: "NotInKnowledge",
          reply: textsFor(bot, content).text("knowledge.unknown")
        } satisfies ReplyContext
      }
      // The sender's notes (remember), after the system messages; only where no one else reads the answer.
      const known =
        chat.type === "private" && incoming.tgUserId !== null
          ? notesPrompt(yield* userNotes.list(bot.id, incoming.tgUserId))
          : null
      const withNotes = (turns: Array<ChatTurn>): Array<ChatTurn> => {
        if (known === null) return turns
        const at = turns.findIndex((turn) => turn.role !== "system")
        turns.splice(at === -1 ? turns.length : at, 0, { role: "system", content: known })
        return turns
      }
      const current = { caption: content.text, image, languageCode: content.from?.languageCode ?? null }
      // Earlier questions' tool calls, read for the whole history before it is cut to the budget.
      const called = yield* earlierToolTurns(bot, incoming, history)
      const fixed = withNotes(turnsOf(bot, chat, incoming, [], current, passages))
      const fitted = yield* thread.fit(bot, chat, incoming, history, fixed, image !== null)
      const turnsFor = (selection: Selection) =>
        withNotes([
          ...leadWith(
            turnsOf(bot, chat, incoming, selection.messages, current, passages, called),
            selection.summary
          )
        ])
      return {
        _tag: "Ready",
        turns: turnsFor(fitted),
        shorter: () => turnsFor(fitted.shorter()),
        spent: { tokens: fitted.spent.tokens + spent.tokens, costUsd: fitted.spent.costUsd + spent.costUsd }
      } satisfies ReplyContext
    })
})

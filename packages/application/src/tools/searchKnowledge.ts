/**
 * search_knowledge: the bot's knowledge bases searched as the model asks,
 * for a bot whose `knowledgeMode` is "tool" (the other mode injects the
 * passages for every question, reply/context.ts). The search is the same
 * hybrid retrieval; the passages come back numbered, each with its document
 * and section, so the answer can cite them as the injected ones are cited.
 *
 * The bot comes from ToolTurn, provided by the turn loop for each call: a
 * tool call can only search the knowledge bases of the bot it answers for.
 */
import { KnowledgeModel } from "@botfleet/domain"
import { Effect, Schema } from "effect"
import * as Tool from "effect/ai/Tool"
import * as Toolkit from "effect/ai/Toolkit"
import { KnowledgeService, type Passage } from "../knowledge/KnowledgeService.ts"
import { ToolFailure } from "./builtins.ts"
import { ToolTurn } from "./ToolTurn.ts"

export const SearchKnowledge = Tool.make("search_knowledge", {
  description:
    'Searches the documents this bot answers from (manuals, FAQs, price lists) and returns the most relevant passages, numbered. Search before answering a question they may cover; cite the passages you use in plain text by number, document and section, like "[1] Manual, Installation".',
  parameters: Schema.Struct({
    query: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1_000)).annotate({
      description: "What to look for, in the documents' language: the question or its key words"
    })
  }),
  success: Schema.Struct({
    passages: Schema.Array(
      Schema.Struct({
        /** 1, 2, 3...: what the answer cites. */
        source: Schema.Number,
        /** "Manual, Installation": the document and its section. */
        citation: Schema.String,
        document: Schema.String,
        section: Schema.String,
        text: Schema.String
      })
    )
  }),
  failure: ToolFailure,
  failureMode: "return",
  dependencies: [ToolTurn]
})
  .annotate(Tool.Title, "Searching the documents")
  .annotate(Tool.Readonly, true)
  .annotate(Tool.Idempotent, true)

export const SearchKnowledgeToolkit = Toolkit.make(SearchKnowledge)

export const passagesForModel = (passages: ReadonlyArray<Passage>) => ({
  passages: passages.map((passage, index) => ({
    source: index + 1,
    citation: KnowledgeModel.sourceLabel(passage),
    document: passage.documentName,
    section: passage.section,
    text: passage.text.trim()
  }))
})

/** The handler, on the knowledge service; the bot of each call from its ToolTurn. */
export const SearchKnowledgeToolkitLive = SearchKnowledgeToolkit.toLayer(
  Effect.gen(function* () {
    const knowledge = yield* KnowledgeService
    return SearchKnowledgeToolkit.of({
      search_knowledge: Effect.fn("tool.search_knowledge")(function* (params: { readonly query: string }) {
        const turn = yield* ToolTurn
        const { bot } = turn
        if (bot.knowledgeBaseIds.length === 0)
          return yield* Effect.fail<ToolFailure>({ reason: "this bot has no knowledge bases to search" })
        // As for injected passages: an embeddings server down leaves full text alone.
        const { passages, spent } = yield* knowledge
          .retrieveCosted(bot.knowledgeBaseIds, params.query, { textOnlyOnEmbeddingError: true })
          .pipe(
            Effect.catch((error) =>
              Effect.andThen(
                Effect.logWarning("knowledge not searched for a tool call", {
                  bot_id: bot.id,
                  reason: error.message
                }),
                Effect.fail<ToolFailure>({ reason: "the documents could not be searched just now" })
              )
            )
          )
        // The query's embedding is the reply's use, as it is when passages are injected.
        yield* turn.spend(spent)
        return passagesForModel(passages)
      })
    })
  })
)

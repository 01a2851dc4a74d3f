/** Lists every kind of failure and retries any of them by its reference. */
import { KnowledgeDocumentId, type Message, MessageId } from "@botfleet/domain"
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { ConversationService } from "../conversations/ConversationService.ts"
import { type Failure, type FailureFilter, type FailureKind, FailureLog } from "../ports/Failures.ts"
import { KnowledgeRepository } from "../ports/KnowledgeBases.ts"
import { MessageRepository, type Page, type PageRequest } from "../ports/Repositories.ts"

export class FailureNotFound extends Schema.TaggedError<FailureNotFound>()("FailureNotFound", {
  ref: Schema.String,
  message: Schema.String
}) {}

export class FailureNotRetryable extends Schema.TaggedError<FailureNotRetryable>()("FailureNotRetryable", {
  ref: Schema.String,
  message: Schema.String
}) {}

/** `kind:id` split; the API checks the shape before it gets here. */
export const parseFailureRef = (ref: string): { readonly kind: FailureKind; readonly id: string } | null => {
  const match = /^(message|update|effect|document):(.+)$/.exec(ref)
  return match === null ? null : { kind: match[1] as FailureKind, id: match[2]! }
}

/** A failure, with the stored message when it is one (a reply or an admin message). */
export interface FailureWithMessage {
  readonly failure: Failure
  readonly message: Option.Option<Message>
}

export class FailureService extends Context.Service<
  FailureService,
  {
    readonly list: (filter: FailureFilter, page: PageRequest) => Effect.Effect<Page<FailureWithMessage>>
    /** Queues the failed thing again; what happens next is the normal path (pipeline, effect runner). */
    readonly retry: (ref: string) => Effect.Effect<void, FailureNotFound | FailureNotRetryable>
  }
>()("@botfleet/application/FailureService") {
  static readonly layer = Layer.effect(
    FailureService,
    Effect.gen(function* () {
      const log = yield* FailureLog
      const conversations = yield* ConversationService
      const messages = yield* MessageRepository
      const knowledge = yield* KnowledgeRepository

      /** A failed document is indexed again from its stored bytes, as the knowledge base's re-index does. */
      const requeueDocument = (id: KnowledgeDocumentId) =>
        Effect.gen(function* () {
          const document = yield* Effect.option(knowledge.findDocument(id))
          if (Option.isNone(document)) return "missing" as const
          if (document.value.state !== "failed") return "not_failed" as const
          const at = new Date(yield* Clock.currentTimeMillis)
          return yield* knowledge.requeueDocument(id, at).pipe(
            Effect.as("requeued" as const),
            Effect.orElseSucceed(() => "missing" as const)
          )
        })

      const list = Effect.fn("FailureService.list")(function* (filter: FailureFilter, page: PageRequest) {
        const found = yield* log.list(filter, page)
        const items = yield* Effect.forEach(found.items, (failure) => {
          const parsed = parseFailureRef(failure.ref)
          return parsed?.kind === "message"
            ? Effect.map(Effect.option(messages.findById(MessageId.make(parsed.id))), (message) => ({
                failure,
                message
              }))
            : Effect.succeed({ failure, message: Option.none<Message>() })
        })
        return { items, nextCursor: found.nextCursor }
      })

      const outcome = (
        ref: string,
        result: "requeued" | "missing" | "not_failed"
      ): Effect.Effect<void, FailureNotFound | FailureNotRetryable> =>
        result === "requeued"
          ? Effect.void
          : result === "missing"
            ? Effect.fail(new FailureNotFound({ ref, message: `no failure ${ref}` }))
            : Effect.fail(new FailureNotRetryable({ ref, message: `${ref} has not failed (anymore)` }))

      const retry = Effect.fn("FailureService.retry")(function* (ref: string) {
        const parsed = parseFailureRef(ref)
        if (parsed === null) return yield* new FailureNotFound({ ref, message: `no failure ${ref}` })
        yield* Effect.annotateCurrentSpan({ "failure.ref": ref })
        switch (parsed.kind) {
          case "message":
            return yield* conversations.retry(MessageId.make(parsed.id)).pipe(
              Effect.asVoid,
              Effect.catchTags({
                MessageNotFound: () =>
                  Effect.fail(new FailureNotFound({ ref, message: `no failure ${ref}` })),
                NotRetryable: (e) => Effect.fail(new FailureNotRetryable({ ref, message: e.message }))
              })
            )
          case "update":
            return yield* Effect.flatMap(log.requeueUpdate(Number(parsed.id)), (result) =>
              outcome(ref, result)
            )
          case "effect":
            return yield* Effect.flatMap(log.requeueEffect(Number(parsed.id)), (result) =>
              outcome(ref, result)
            )
          case "document":
            return yield* Effect.flatMap(requeueDocument(KnowledgeDocumentId.make(parsed.id)), (result) =>
              outcome(ref, result)
            )
        }
      })

      return FailureService.of({ list, retry })
    })
  )
}

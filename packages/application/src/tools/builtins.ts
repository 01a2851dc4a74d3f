/**
 * The built-in tools a bot can be given, declared once with effect/ai's
 * Tool and Toolkit: the name and description the model reads, the schema of
 * its arguments and of its answer. A failure the model should hear about
 * (a refused URL, an unknown time zone) is returned to it, not raised.
 *
 * Each has its handler in a file of this folder, all wired in
 * BuiltinToolkitLive. `generate_image`, `remember` and `forget` act for the
 * turn they run in (the sender, the chat): they declare ToolTurn, which the
 * turn loop provides per call.
 */
import { Schema } from "effect"
import * as Tool from "effect/ai/Tool"
import * as Toolkit from "effect/ai/Toolkit"
import { ToolTurn } from "./ToolTurn.ts"

/** What the model hears when a tool could not do its work; ours, never a foreign server's words. */
export const ToolFailure = Schema.Struct({ reason: Schema.String })
export type ToolFailure = typeof ToolFailure.Type

export const CurrentTime = Tool.make("current_time", {
  description:
    "The current date and time. Without a time zone: the bot's (ask the user for theirs, or use one they told you). Use it for anything that depends on today or now.",
  parameters: Schema.Struct({
    timeZone: Schema.optional(Schema.String).annotate({
      description: "An IANA time zone such as Europe/Berlin or America/New_York"
    })
  }),
  success: Schema.Struct({
    timeZone: Schema.String,
    /** ISO 8601 with the zone's offset, e.g. 2026-12-07T04:10:00+01:00. */
    iso: Schema.String,
    /** As people read it, e.g. "Monday, 7 December 2026, 04:10". */
    local: Schema.String
  }),
  failure: ToolFailure,
  failureMode: "return"
})
  .annotate(Tool.Title, "Checking the time")
  .annotate(Tool.Readonly, true)
  .annotate(Tool.Idempotent, true)
  .addDependency(ToolTurn)

export const FetchUrl = Tool.make("fetch_url", {
  description:
    "Fetches a web page (http or https) and returns its readable text: the article without menus and scripts, cut to a length the conversation can hold.",
  parameters: Schema.Struct({
    url: Schema.String.annotate({ description: "The page's full URL, starting with http:// or https://" })
  }),
  success: Schema.Struct({
    url: Schema.String,
    title: Schema.NullOr(Schema.String),
    text: Schema.String,
    /** The page had more text than was returned. */
    truncated: Schema.Boolean
  }),
  failure: ToolFailure,
  failureMode: "return"
})
  .annotate(Tool.Title, "Reading a web page")
  .annotate(Tool.Readonly, true)
  .annotate(Tool.Idempotent, true)
  .annotate(Tool.OpenWorld, true)

/** The image is sent to the chat as a photo, priced per image (generateImage.ts). */
export const GenerateImage = Tool.make("generate_image", {
  description: "Draws an image from a description and sends it to the chat as a photo.",
  parameters: Schema.Struct({
    prompt: Schema.String.annotate({ description: "What the image shows, in detail" }),
    size: Schema.optional(Schema.Literals(["1024x1024", "1024x1536", "1536x1024"]))
  }),
  success: Schema.Struct({
    sent: Schema.Boolean,
    /** What the image cost, already counted in the sender's and the bot's use. */
    costUsd: Schema.Number
  }),
  failure: ToolFailure,
  failureMode: "return"
})
  .annotate(Tool.Title, "Drawing an image")
  .annotate(Tool.Idempotent, false)
  .addDependency(ToolTurn)

/** Per-user notes kept across threads, listed with /memory (notes.ts). */
export const Remember = Tool.make("remember", {
  description:
    "Keeps a short note about the user for later conversations (a preference, a name, a fact they asked you to remember).",
  parameters: Schema.Struct({ note: Schema.String.check(Schema.isMaxLength(500)) }),
  success: Schema.Struct({ noteId: Schema.String }),
  failure: ToolFailure,
  failureMode: "return"
})
  .annotate(Tool.Title, "Remembering")
  .annotate(Tool.Idempotent, false)
  .addDependency(ToolTurn)

/** Removes one of the sender's notes that `remember` kept. */
export const Forget = Tool.make("forget", {
  description: "Deletes a note about the user that you kept with remember.",
  parameters: Schema.Struct({ noteId: Schema.String }),
  success: Schema.Struct({ forgotten: Schema.Boolean }),
  failure: ToolFailure,
  failureMode: "return"
})
  .annotate(Tool.Title, "Forgetting")
  .annotate(Tool.Idempotent, true)
  .addDependency(ToolTurn)

/** Every built-in, each with its handler (BuiltinToolkitLive). */
export const BuiltinToolkit = Toolkit.make(CurrentTime, FetchUrl, GenerateImage, Remember, Forget)

/** Every built-in's name: what a bot's `tools` setting will choose from. */
export const BUILTIN_TOOL_NAMES = [
  CurrentTime.name,
  FetchUrl.name,
  GenerateImage.name,
  Remember.name,
  Forget.name
] as const

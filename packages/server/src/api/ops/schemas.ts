/** Bodies of the operations routes (issue 13): scheduled jobs. */
import { Schema } from "effect"

const IsoDate = Schema.String.annotate({ description: "ISO 8601 time" })

export const JobRunView = Schema.Struct({
  tick: IsoDate,
  owner: Schema.String,
  startedAt: IsoDate,
  finishedAt: Schema.NullOr(IsoDate),
  outcome: Schema.Literals(["running", "ok", "failed"]),
  durationMs: Schema.NullOr(Schema.Number),
  detail: Schema.NullOr(Schema.String)
})

export const JobView = Schema.Struct({
  name: Schema.String,
  everySeconds: Schema.Number,
  lastRun: Schema.NullOr(JobRunView),
  nextTick: IsoDate
})
export type JobView = typeof JobView.Type

export const JobsView = Schema.Struct({ items: Schema.Array(JobView) })

/**
 * Whether this process still holds the lease of the chat it is working on.
 * The dispatcher provides it around a chat's drain; outside one (an admin's
 * answer, a test) it is always true. Checked right before anything a second
 * owner would repeat (a message sent, a tool that is not idempotent), so a
 * process that lost its chat mid-update stops there instead of racing the
 * new owner.
 */
import { Context, Effect } from "effect"
import { LeaseLost } from "./PipelineErrors.ts"

export const LeaseHeld = Context.Reference<Effect.Effect<boolean>>("@botfleet/application/LeaseHeld", {
  defaultValue: () => Effect.succeed(true)
})

/** Fails with `LeaseLost` once the lease is no longer surely ours. */
export const ensureLeaseHeld: Effect.Effect<void, LeaseLost> = Effect.flatMap(LeaseHeld, (held) => held).pipe(
  Effect.flatMap((held) => (held ? Effect.void : Effect.fail(new LeaseLost())))
)

/**
 * The pipeline thread runs at a lower CPU priority than the HTTP thread, so
 * when both want the CPU a webhook is acknowledged first (Telegram waits for
 * that 200 before it sends the bot's next update) and replies use what is
 * left. Stored updates are safe in the inbox meanwhile; no CPU is lost, only
 * the order in which the two threads get it changes.
 *
 * Linux only: there a thread has its own nice value, set through its thread
 * id. Raising one's own nice value needs no privilege. Elsewhere nothing
 * changes.
 */
import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"

/** Niceness of the pipeline thread: CPU shares of about 1 to 10 against the HTTP thread when both are busy. */
export const PIPELINE_NICENESS = 10

/** This thread's id, from `/proc/thread-self` (`<pid>/task/<tid>`); undefined off Linux. */
const currentThreadId = (): number | undefined => {
  try {
    const id = Number(readlinkSync("/proc/thread-self").split("/").at(-1))
    return Number.isInteger(id) && id > 0 ? id : undefined
  } catch {
    return undefined
  }
}

/** Lowers this thread's priority to `niceness`; says what happened, for the start-up log. */
export const lowerThreadPriority = (niceness: number): string => {
  const thread = currentThreadId()
  if (thread === undefined) return "unchanged (no per-thread priority on this system)"
  try {
    setPriority(thread, niceness)
    return `nice ${niceness}`
  } catch (error) {
    return `unchanged (${error instanceof Error ? error.message : String(error)})`
  }
}

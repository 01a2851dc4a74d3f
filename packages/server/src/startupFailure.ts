/** The one line a failed start prints: what went wrong, never a stack trace. */
export const startupFailureLine = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const tagged = error as { _tag: string; message?: string; variable?: string; cause?: unknown }
    switch (tagged._tag) {
      case "InvalidConfig":
        return `botfleet: invalid configuration: ${tagged.variable}: ${tagged.message}`
      case "ServeError":
        return `botfleet: cannot listen: ${describeCause(tagged.cause)}`
      default:
        return `botfleet: cannot start: ${tagged.message || tagged._tag}`
    }
  }
  return `botfleet: cannot start: ${error instanceof Error ? error.message : String(error)}`
}

const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

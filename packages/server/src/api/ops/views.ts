/** Operations values as the API shows them (issue 13). */
import type { FailureWithMessage } from "@botfleet/application"
import { Option } from "effect"
import { toMessageView } from "../views.ts"
import type { FailureView } from "./schemas.ts"

export const toFailureView = ({ failure, message }: FailureWithMessage): FailureView => ({
  id: failure.ref,
  kind: failure.kind,
  botId: failure.botId,
  chatId: failure.chatId,
  error: failure.error,
  attempts: failure.attempts,
  at: failure.at.toISOString(),
  summary: failure.summary,
  message: Option.match(message, { onNone: () => null, onSome: toMessageView })
})

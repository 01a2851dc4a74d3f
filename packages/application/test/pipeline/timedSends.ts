/**
 * The Telegram twin with the virtual time of every message sent, for the
 * dispatcher's tests on the memory twins: `sent` is filled as messages go
 * out (a test empties it first), `timedTelegram` wraps the twin's gateway.
 */
import type { TelegramGateway } from "@botfleet/application"
import { Clock, Effect } from "effect"

export interface Sent {
  readonly chatId: number
  readonly text: string
  readonly at: number
}

export const timedSends = () => {
  const sent: Array<Sent> = []
  const timedTelegram = (gateway: TelegramGateway["Service"]): TelegramGateway["Service"] => ({
    ...gateway,
    sendMessage: (token, input) =>
      Effect.tap(gateway.sendMessage(token, input), () =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          sent.push({ chatId: input.chatId, text: input.text, at })
        })
      )
  })
  return { sent, timedTelegram }
}

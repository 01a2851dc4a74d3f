/**
 * generate_image: drawn by the bot's provider (its `imageModel`), sent to the
 * chat as a photo replying to the message being answered, and its price
 * counted in the sender's and the bot's use as soon as it is spent (the
 * usage ledger's addCost), so budgets hold even if the rest of the turn
 * fails. The result tells the model the photo is sent and what it cost
 * (already counted: a loop adding it to the reply's cost must not settle it
 * again). A failure, the provider's or Telegram's, is told to the model and
 * nothing is sent.
 */
import { Clock, Effect } from "effect"
import type { ImageGenerator } from "../ports/ImageGenerator.ts"
import type { TelegramGateway } from "../ports/TelegramGateway.ts"
import type { UsageLedger } from "../ports/UsageLedger.ts"
import type { ProviderAccess } from "../providers/ProviderAccess.ts"
import type { ToolFailure } from "./builtins.ts"
import { ToolTurn } from "./ToolTurn.ts"

export const DEFAULT_IMAGE_SIZE = "1024x1024"

const failure = (reason: string) => Effect.fail<ToolFailure>({ reason })

export const generateImage = (
  images: ImageGenerator["Service"],
  providers: ProviderAccess["Service"],
  telegram: TelegramGateway["Service"],
  ledger: UsageLedger["Service"]
) =>
  Effect.fn("tool.generate_image")(function* (params: {
    readonly prompt: string
    readonly size?: string | undefined
  }) {
    const { bot, token, chat, incoming } = yield* ToolTurn
    const choice = yield* providers
      .modelFor(bot)
      .pipe(Effect.catchTag("LlmError", () => failure("the bot's model provider cannot be used now")))
    const image = yield* images
      .generate({
        model: bot.imageModel,
        prompt: params.prompt,
        size: params.size ?? DEFAULT_IMAGE_SIZE,
        endpoint: choice.endpoint
      })
      .pipe(Effect.catchTag("ImageGenerationFailed", (error) => failure(`no image: ${error.reason}`)))
    // Spent once drawn, whether or not Telegram takes the photo.
    if (image.costUsd > 0) {
      yield* ledger.addCost(
        { botId: bot.id, userId: incoming.tgUserId },
        image.costUsd,
        new Date(yield* Clock.currentTimeMillis)
      )
    }
    const replyTo = incoming.telegramMessageIds[0]
    yield* telegram
      .sendPhoto(token, {
        chatId: chat.telegramChatId,
        photo: image.bytes,
        fileName: image.fileName,
        ...(replyTo === undefined ? {} : { replyToMessageId: replyTo }),
        topicId: incoming.topicId
      })
      .pipe(
        Effect.catchTag("TelegramError", (error) => failure(`the photo could not be sent (${error.kind})`))
      )
    return { sent: true, costUsd: image.costUsd }
  })

import { LanguageModelMemory, RepositoriesMemory, SecretBoxMemory, TelegramGatewayMemory, UpdateInboxMemory } from "@botfleet/adapters"
import { HandleUpdate, BotService, EffectRunner, Settings } from "@botfleet/application"
import { assert, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { addBot, textUpdate } from "./support/harness.ts"

const plain = Layer.mergeAll(BotService.layer, HandleUpdate.layer, EffectRunner.layer).pipe(Layer.provideMerge(Layer.mergeAll(RepositoriesMemory.layer, UpdateInboxMemory.layerMemory, TelegramGatewayMemory.layerMemory, LanguageModelMemory.layerMemory(), SecretBoxMemory.layerMemory, Layer.succeed(Settings, {publicUrl: Option.none(), defaultModel: "test-model"}))))
it.effect("smoke", () =>
  Effect.gen(function* () {
    const { bot } = yield* addBot()
    yield* HandleUpdate.use(h => h.process(bot.id, textUpdate(1, "hello there")))
    const log = yield* TelegramGatewayMemory.TelegramMemoryLog
    console.log(yield* log.chatActions)
    assert.ok(true)
  }).pipe(Effect.provide(plain))
)

/**
 * The memory twin of ImageGenerator: every prompt is drawn as the same tiny
 * PNG at a fixed price, and the prompts are kept for a test to read.
 */
import { type GeneratedImage, ImageGenerator, type ImageRequest } from "@botfleet/application"
import { Context, Effect, Layer, Ref } from "effect"

/** A 1×1 transparent PNG. */
const PIXEL = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
    "base64"
  )
)

/** What each image costs here, so a test can see it counted. */
export const MEMORY_IMAGE_COST_USD = 0.04

export class ImagesDrawn extends Context.Service<
  ImagesDrawn,
  { readonly requests: Effect.Effect<ReadonlyArray<ImageRequest>> }
>()("@botfleet/adapters/ImagesDrawn") {}

export const layerMemory: Layer.Layer<ImageGenerator | ImagesDrawn> = Layer.effectContext(
  Effect.gen(function* () {
    const drawn = yield* Ref.make<ReadonlyArray<ImageRequest>>([])
    const generate = (request: ImageRequest) =>
      Ref.update(drawn, (all) => [...all, request]).pipe(
        Effect.as<GeneratedImage>({ bytes: PIXEL, fileName: "image.png", costUsd: MEMORY_IMAGE_COST_USD })
      )
    return Context.make(ImageGenerator, ImageGenerator.of({ generate })).pipe(
      Context.add(ImagesDrawn, ImagesDrawn.of({ requests: Ref.get(drawn) }))
    )
  })
)

/**
 * Speech that does not come as Ogg Opus is made into it: a WAV answer is
 * encoded in process (and decodes back to as long a sine as went in), an MP3
 * answer is asked for again as WAV, and only when that fails too is the audio
 * sent as it came.
 */
import http from "node:http"
import type { AddressInfo } from "node:net"
import { SpeechSynthesizer } from "@botfleet/application"
import { OggOpus } from "@botfleet/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { OggOpusDecoder } from "ogg-opus-decoder"
import * as Outbound from "../../src/outbound/OutboundClient.ts"
import * as OutboundHttpNode from "../../src/outbound/OutboundHttpNode.ts"
import * as SpeechSynthesizerOpenAI from "../../src/speechSynthesizer/SpeechSynthesizerOpenAI.ts"
import { speechCost } from "../../src/speechSynthesizer/speechPrices.ts"

/** A mono 16-bit WAV of a 440 Hz sine at a quarter of full scale. */
const sineWav = (seconds: number, sampleRate: number, channels = 1): Uint8Array => {
  const frames = Math.round(seconds * sampleRate)
  const data = frames * channels * 2
  const wav = Buffer.alloc(44 + data)
  wav.write("RIFF", 0, "ascii")
  wav.writeUInt32LE(36 + data, 4)
  wav.write("WAVEfmt ", 8, "ascii")
  wav.writeUInt32LE(16, 16)
  wav.writeUInt16LE(1, 20) // PCM
  wav.writeUInt16LE(channels, 22)
  wav.writeUInt32LE(sampleRate, 24)
  wav.writeUInt32LE(sampleRate * channels * 2, 28)
  wav.writeUInt16LE(channels * 2, 32)
  wav.writeUInt16LE(16, 34)
  wav.write("data", 36, "ascii")
  wav.writeUInt32LE(data, 40)
  for (let frame = 0; frame < frames; frame++) {
    const value = Math.round(8192 * Math.sin((2 * Math.PI * 440 * frame) / sampleRate))
    for (let channel = 0; channel < channels; channel++)
      wav.writeInt16LE(value, 44 + (frame * channels + channel) * 2)
  }
  return wav
}

const MP3 = Buffer.from("ID3\u0003fake mp3 bytes")

interface Answer {
  readonly contentType: string
  readonly body: Uint8Array
}

/** A speech endpoint answering each `response_format` as told, recording the formats asked for. */
const speechServer = (answers: Record<string, Answer>) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: http.Server; origin: string; asked: Array<string> }>((resolve) => {
          const asked: Array<string> = []
          const server = http.createServer((request, response) => {
            const chunks: Array<Buffer> = []
            request.on("data", (chunk: Buffer) => chunks.push(chunk))
            request.on("end", () => {
              const format = JSON.parse(Buffer.concat(chunks).toString("utf8")).response_format as string
              asked.push(format)
              const answer = answers[format]
              if (answer === undefined) response.writeHead(400).end('{"error":"unsupported format"}')
              else response.writeHead(200, { "content-type": answer.contentType }).end(answer.body)
            })
          })
          server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as AddressInfo).port
            resolve({ server, origin: `http://127.0.0.1:${port}`, asked })
          })
        })
    ),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  )

const synthesizer = (baseUrl: string) =>
  SpeechSynthesizer.pipe(
    Effect.provide(
      SpeechSynthesizerOpenAI.layer({ apiKey: Redacted.make("sk-test"), baseUrl, timeoutMs: 5_000 }).pipe(
        Layer.provide(OutboundHttpNode.layer(Outbound.make({ privateNetworks: "allow" })))
      )
    )
  )

const request = { model: "tts-1", voice: "nova", input: "Bonjour, Paris." }

/** Structure (RFC 7845) and checksums of an Ogg Opus file; its decoded samples at 48 kHz. */
const checkOggOpus = (audio: Uint8Array) =>
  Effect.gen(function* () {
    assert.strictEqual(Buffer.from(audio.subarray(0, 4)).toString("ascii"), "OggS")
    const pages = OggOpus.oggPages(audio)
    assert.isAtLeast(pages.length, 3)
    assert.isTrue(pages.every((page) => page.crcOk))
    assert.strictEqual(Buffer.from(pages[0]!.body.subarray(0, 8)).toString("ascii"), "OpusHead")
    assert.strictEqual(pages[0]!.flags & 0x02, 0x02)
    assert.strictEqual(Buffer.from(pages[1]!.body.subarray(0, 8)).toString("ascii"), "OpusTags")
    assert.strictEqual(pages.at(-1)!.flags & 0x04, 0x04)
    const decoder = new OggOpusDecoder()
    yield* Effect.promise(() => decoder.ready)
    const decoded = yield* Effect.promise(() => decoder.decodeFile(audio))
    decoder.free()
    assert.deepStrictEqual(decoded.errors, [])
    return { pages, decoded }
  })

const meanAbs = (samples: Float32Array, from: number, to: number) => {
  let sum = 0
  for (let index = from; index < to; index++) sum += Math.abs(samples[index]!)
  return sum / (to - from)
}

describe("SpeechSynthesizerOpenAI: conversion to Ogg Opus", () => {
  it.live("a WAV answer is encoded: valid Ogg Opus that decodes back to the sine, as long", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* speechServer({ opus: { contentType: "audio/wav", body: sineWav(2, 24_000) } })
        const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
        assert.deepStrictEqual(server.asked, ["opus"])
        assert.strictEqual(speech.format, "ogg_opus")
        assert.strictEqual(speech.fileName, "answer.ogg")
        assert.closeTo(speech.costUsd, speechCost("tts-1", request.input.length), 1e-15)
        const { pages, decoded } = yield* checkOggOpus(speech.audio)
        // The end granule is the pre-skip plus two seconds at 48 kHz; a player plays exactly that.
        const preSkip = Buffer.from(pages[0]!.body).readUInt16LE(10)
        assert.strictEqual(pages.at(-1)!.granule, BigInt(preSkip + 96_000))
        assert.strictEqual(decoded.sampleRate, 48_000)
        assert.strictEqual(decoded.samplesDecoded, 96_000)
        // A sine at 8192/32768 has a mean magnitude of 0.25 × 2/π ≈ 0.159; silence or noise would not.
        assert.closeTo(meanAbs(decoded.channelData[0]!, 4_800, 91_200), 0.159, 0.02)
        // Far smaller than the WAV (2 s × 24 kHz × 2 bytes).
        assert.isBelow(speech.audio.length, 96_000 / 4)
      })
    )
  )

  it.live("a stereo WAV at 44.1 kHz (not an Opus rate) is mixed down and resampled", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* speechServer({
          opus: { contentType: "audio/wav", body: sineWav(1, 44_100, 2) }
        })
        const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
        assert.strictEqual(speech.format, "ogg_opus")
        const { decoded } = yield* checkOggOpus(speech.audio)
        assert.strictEqual(decoded.samplesDecoded, 48_000)
        assert.closeTo(meanAbs(decoded.channelData[0]!, 4_800, 43_200), 0.159, 0.02)
      })
    )
  )

  it.live("raw PCM named by its content type is encoded too", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pcm = sineWav(1, 16_000).subarray(44)
        const server = yield* speechServer({ opus: { contentType: "audio/pcm;rate=16000", body: pcm } })
        const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
        assert.strictEqual(speech.format, "ogg_opus")
        const { decoded } = yield* checkOggOpus(speech.audio)
        assert.strictEqual(decoded.samplesDecoded, 48_000)
      })
    )
  )

  it.live("MP3 first, WAV on the retry: asked twice, sent as Ogg Opus, both answers paid for", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* speechServer({
          opus: { contentType: "audio/mpeg", body: MP3 },
          wav: { contentType: "audio/wav", body: sineWav(1, 24_000) }
        })
        const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
        assert.deepStrictEqual(server.asked, ["opus", "wav"])
        assert.strictEqual(speech.format, "ogg_opus")
        assert.strictEqual(speech.fileName, "answer.ogg")
        assert.closeTo(speech.costUsd, 2 * speechCost("tts-1", request.input.length), 1e-15)
        const { decoded } = yield* checkOggOpus(speech.audio)
        assert.strictEqual(decoded.samplesDecoded, 48_000)
      })
    )
  )

  it.live("MP3 both times: the first answer goes out as an audio file, as before", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const server = yield* speechServer({
          opus: { contentType: "audio/mpeg", body: MP3 },
          wav: { contentType: "audio/mpeg", body: Buffer.from("ID3\u0003other") }
        })
        const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
        assert.deepStrictEqual(server.asked, ["opus", "wav"])
        assert.strictEqual(speech.format, "other")
        assert.strictEqual(speech.fileName, "answer.mp3")
        assert.deepStrictEqual([...speech.audio], [...MP3])
      })
    )
  )

  it.live(
    "MP3, and WAV refused with a 400: the MP3 goes out as an audio file, the refusal is not an error",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const server = yield* speechServer({ opus: { contentType: "audio/mpeg", body: MP3 } })
          const speech = yield* (yield* synthesizer(server.origin)).synthesize(request)
          assert.deepStrictEqual(server.asked, ["opus", "wav"])
          assert.strictEqual(speech.format, "other")
          assert.deepStrictEqual([...speech.audio], [...MP3])
          assert.closeTo(speech.costUsd, speechCost("tts-1", request.input.length), 1e-15)
        })
      )
  )
})

/**
 * 16-bit PCM to an Ogg Opus voice note, in process: libopus 1.4 compiled to
 * WASM (`opusscript`, no native build, no ffmpeg) for the frames, and our Ogg
 * muxer around them. Speech is mixed down to mono, kept at its rate when Opus
 * takes it (8, 12, 16, 24 or 48 kHz: OpenAI's WAV and PCM are 24 kHz) and
 * otherwise resampled to 48 kHz, then cut into 20 ms frames at 32 kbit/s,
 * plenty for a voice.
 *
 * It costs CPU (about 10 ms of it per second of speech here; see docs/voice.md),
 * so the work yields to other fibers every second of audio instead of holding
 * the event loop for a whole answer. One encoding runs at a time: opusscript
 * keeps every encoder in one WASM heap and writes its input past its own
 * allocation, so two live encoders could overwrite each other.
 */
import { Data, Effect, Semaphore } from "effect"
import OpusScript from "opusscript"
import { muxOggOpus } from "./oggOpus.ts"
import type { Pcm } from "./pcm.ts"

const OPUS_RATES: ReadonlySet<number> = new Set([8_000, 12_000, 16_000, 24_000, 48_000])
const BITRATE = 32_000
/** libopus's lookahead (2.5 ms + 4 ms of delay compensation), the same at every rate in 48 kHz samples. */
const PRE_SKIP = 312
const FRAMES_PER_SLICE = 50

const oneAtATime = Semaphore.makeUnsafe(1)

/** libopus refused the input or its WASM module failed; the caller sends the audio as it came. */
export class OpusEncodeError extends Data.TaggedError("OpusEncodeError")<{ readonly cause: unknown }> {}

const mono = (pcm: Pcm): Int16Array => {
  if (pcm.channels === 1) return pcm.samples
  const frames = Math.floor(pcm.samples.length / pcm.channels)
  const mixed = new Int16Array(frames)
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0
    for (let channel = 0; channel < pcm.channels; channel++)
      sum += pcm.samples[frame * pcm.channels + channel]!
    mixed[frame] = Math.round(sum / pcm.channels)
  }
  return mixed
}

/** Linear interpolation: enough for speech going up to 48 kHz (nothing above the source's band is invented). */
const resample = (samples: Int16Array, from: number, to: number): Int16Array => {
  const length = Math.floor((samples.length * to) / from)
  const out = new Int16Array(length)
  const step = from / to
  for (let index = 0; index < length; index++) {
    const position = index * step
    const before = Math.floor(position)
    const after = Math.min(before + 1, samples.length - 1)
    const weight = position - before
    out[index] = Math.round(samples[before]! * (1 - weight) + samples[after]! * weight)
  }
  return out
}

export const encodeOggOpus = (pcm: Pcm): Effect.Effect<Uint8Array, OpusEncodeError> =>
  oneAtATime.withPermit(
    Effect.acquireUseRelease(
      Effect.try({
        try: () => {
          const rate = OPUS_RATES.has(pcm.sampleRate) ? pcm.sampleRate : 48_000
          const encoder = new OpusScript(
            rate as 8_000 | 12_000 | 16_000 | 24_000 | 48_000,
            1,
            OpusScript.Application.VOIP
          )
          encoder.setBitrate(BITRATE)
          return { encoder, rate }
        },
        catch: (cause) => new OpusEncodeError({ cause })
      }),
      ({ encoder, rate }) =>
        Effect.gen(function* () {
          const downmixed = mono(pcm)
          const samples = rate === pcm.sampleRate ? downmixed : resample(downmixed, pcm.sampleRate, rate)
          const frameSize = rate / 50
          const lookahead = (PRE_SKIP * rate) / 48_000
          // Enough frames to flush the lookahead too; the last is padded with silence.
          const frames = Math.ceil((samples.length + lookahead) / frameSize)
          const padded = new Int16Array(frames * frameSize)
          padded.set(samples)
          // Native order is little-endian on every platform Node ships for, as libopus expects.
          const bytes = Buffer.from(padded.buffer, padded.byteOffset, padded.byteLength)
          const packets: Array<Uint8Array> = []
          for (let frame = 0; frame < frames; frame++) {
            if (frame > 0 && frame % FRAMES_PER_SLICE === 0) yield* Effect.yieldNow
            const start = frame * frameSize * 2
            packets.push(
              yield* Effect.try({
                try: () => encoder.encode(bytes.subarray(start, start + frameSize * 2), frameSize),
                catch: (cause) => new OpusEncodeError({ cause })
              })
            )
          }
          return muxOggOpus({
            packets,
            frameSamples48k: 960,
            preSkip: PRE_SKIP,
            samples48k: Math.round((samples.length * 48_000) / rate),
            inputSampleRate: pcm.sampleRate,
            channels: 1
          })
        }),
      ({ encoder }) => Effect.sync(() => encoder.delete())
    )
  )

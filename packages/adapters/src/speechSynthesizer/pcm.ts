/**
 * 16-bit PCM out of what a speech endpoint may answer instead of Opus: a WAV
 * file (RIFF/WAVE, integer PCM, any rate and channel count) or raw PCM that
 * its content type names (`audio/pcm`: little-endian, OpenAI's 24 kHz mono
 * unless the type says otherwise; `audio/L16`: big-endian, RFC 2586).
 * Anything else (MP3, AAC, FLAC, float WAV…) is `undefined`: we do not decode it.
 */

export interface Pcm {
  /** Interleaved signed 16-bit samples. */
  readonly samples: Int16Array
  readonly sampleRate: number
  readonly channels: number
}

const text = (bytes: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...bytes.subarray(at, at + length))

const WAVE_FORMAT_PCM = 1
const WAVE_FORMAT_EXTENSIBLE = 0xfffe

const samplesOf = (bytes: Uint8Array, littleEndian: boolean): Int16Array => {
  const count = Math.floor(bytes.length / 2)
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2)
  const samples = new Int16Array(count)
  for (let index = 0; index < count; index++) samples[index] = view.getInt16(index * 2, littleEndian)
  return samples
}

const plausible = (sampleRate: number, channels: number) =>
  Number.isInteger(sampleRate) &&
  sampleRate >= 8_000 &&
  sampleRate <= 192_000 &&
  Number.isInteger(channels) &&
  channels >= 1 &&
  channels <= 8

export const isWav = (audio: Uint8Array): boolean =>
  audio.length >= 12 && text(audio, 0, 4) === "RIFF" && text(audio, 8, 4) === "WAVE"

export const parseWav = (audio: Uint8Array): Pcm | undefined => {
  if (!isWav(audio)) return undefined
  const view = new DataView(audio.buffer, audio.byteOffset, audio.byteLength)
  let format: { readonly sampleRate: number; readonly channels: number } | undefined
  let offset = 12
  while (offset + 8 <= audio.length) {
    const id = text(audio, offset, 4)
    const size = view.getUint32(offset + 4, true)
    const body = offset + 8
    if (id === "fmt " && size >= 16) {
      const tag = view.getUint16(body, true)
      const channels = view.getUint16(body + 2, true)
      const sampleRate = view.getUint32(body + 4, true)
      const bits = view.getUint16(body + 14, true)
      // WAVE_FORMAT_EXTENSIBLE names the real format in its sub-format GUID's first two bytes.
      const real = tag === WAVE_FORMAT_EXTENSIBLE && size >= 26 ? view.getUint16(body + 24, true) : tag
      if (real !== WAVE_FORMAT_PCM || bits !== 16 || !plausible(sampleRate, channels)) return undefined
      format = { sampleRate, channels }
    } else if (id === "data") {
      if (format === undefined) return undefined
      // A streamed WAV does not know its length and writes 0 or 0xFFFFFFFF: the data runs to the end.
      const end = size === 0 || body + size > audio.length ? audio.length : body + size
      const frameBytes = 2 * format.channels
      const whole = body + Math.floor((end - body) / frameBytes) * frameBytes
      return { samples: samplesOf(audio.subarray(body, whole), true), ...format }
    }
    offset = body + size + (size % 2) // chunks are padded to an even length
  }
  return undefined
}

/** `audio/pcm;rate=24000;channels=1` → its media type and parameters. */
const parseContentType = (contentType: string | undefined) => {
  const [type = "", ...parameters] = (contentType ?? "").split(";").map((part) => part.trim().toLowerCase())
  const parameter = (name: string) => {
    const found = parameters.find((part) => part.startsWith(`${name}=`))
    return found === undefined ? undefined : Number(found.slice(name.length + 1))
  }
  return { type, rate: parameter("rate"), channels: parameter("channels") }
}

/** What OpenAI's `response_format: "pcm"` is: 24 kHz, mono, 16-bit little-endian. */
const OPENAI_PCM_RATE = 24_000

export const toPcm = (audio: Uint8Array, contentType: string | undefined): Pcm | undefined => {
  if (isWav(audio)) return parseWav(audio)
  const { type, rate, channels } = parseContentType(contentType)
  const littleEndian = type === "audio/pcm" || type === "audio/x-pcm"
  if (!littleEndian && type !== "audio/l16") return undefined
  const sampleRate = rate ?? OPENAI_PCM_RATE
  const channelCount = channels ?? 1
  if (!plausible(sampleRate, channelCount)) return undefined
  const frameBytes = 2 * channelCount
  const whole = audio.subarray(0, Math.floor(audio.length / frameBytes) * frameBytes)
  return { samples: samplesOf(whole, littleEndian), sampleRate, channels: channelCount }
}

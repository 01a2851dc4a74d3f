/**
 * A small, real Ogg Opus file, made here rather than shipped as a binary:
 * `frames` packets of Opus's 20 ms silence frame (`F8 FF FE`: CELT fullband,
 * mono, one frame) in the adapter's own Ogg muxer (RFC 3533, RFC 7845). Any
 * Opus decoder plays it as silence, which is what the fakes answer for
 * `/audio/speech`. `oggPages` reads a file back to check it is Ogg.
 */
import { muxOggOpus, oggCrc } from "@botfleet/adapters/oggOpus"

export { oggCrc }

const PRE_SKIP = 312
const SILENCE_FRAME = Uint8Array.from([0xf8, 0xff, 0xfe])
/** 20 ms at Opus's 48 kHz granule rate. */
const SAMPLES_PER_FRAME = 960

/** `frames` × 20 ms of silence (default one second), mono, 48 kHz. */
export const silentOggOpus = (frames = 50): Uint8Array =>
  muxOggOpus({
    packets: Array.from({ length: frames }, () => SILENCE_FRAME),
    frameSamples48k: SAMPLES_PER_FRAME,
    preSkip: PRE_SKIP,
    samples48k: frames * SAMPLES_PER_FRAME - PRE_SKIP,
    inputSampleRate: 48_000,
    channels: 1,
    vendor: "botfleet-test"
  })

export interface OggPage {
  readonly flags: number
  readonly granule: bigint
  /** The page's packets, joined back from their lacing values. */
  readonly packets: ReadonlyArray<Uint8Array>
  readonly body: Uint8Array
  readonly crcOk: boolean
}

/** The pages of an Ogg stream, each with whether its checksum holds: enough to check a file is Ogg. */
export const oggPages = (file: Uint8Array): ReadonlyArray<OggPage> => {
  const pages: Array<OggPage> = []
  let offset = 0
  while (offset + 27 <= file.length) {
    const view = new DataView(file.buffer, file.byteOffset + offset)
    if (view.getUint32(0, false) !== 0x4f676753) break
    const segments = file[offset + 26]!
    const lacing = file.subarray(offset + 27, offset + 27 + segments)
    const bodyLength = lacing.reduce((sum, value) => sum + value, 0)
    const start = offset + 27 + segments
    const end = start + bodyLength
    const copy = file.slice(offset, end)
    const stored = new DataView(copy.buffer).getUint32(22, true)
    new DataView(copy.buffer).setUint32(22, 0, true)
    const packets: Array<Uint8Array> = []
    let packetStart = start
    let cursor = start
    for (const value of lacing) {
      cursor += value
      if (value < 255) {
        packets.push(file.subarray(packetStart, cursor))
        packetStart = cursor
      }
    }
    pages.push({
      flags: file[offset + 5]!,
      granule: view.getBigUint64(6, true),
      packets,
      body: file.subarray(start, end),
      crcOk: oggCrc(copy) === stored
    })
    offset = end
  }
  return pages
}

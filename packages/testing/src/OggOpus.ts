/**
 * A small, real Ogg Opus file, made here rather than shipped as a binary: an
 * `OpusHead` page, an `OpusTags` page and `frames` packets of Opus's 20 ms
 * silence frame (`F8 FF FE`: CELT fullband, mono, one frame), in pages
 * with their CRC (RFC 3533, RFC 7845). Any Opus decoder plays it as silence,
 * which is what the fakes answer for `/audio/speech`.
 */

/** The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, no reflection, initial 0. */
const CRC_TABLE = Array.from({ length: 256 }, (_, index) => {
  let value = index << 24
  for (let bit = 0; bit < 8; bit++) value = value & 0x80000000 ? (value << 1) ^ 0x04c11db7 : value << 1
  return value >>> 0
})

export const oggCrc = (bytes: Uint8Array): number => {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0
  return crc
}

const SERIAL = 0x0b07f1ee
const PRE_SKIP = 312
const SILENCE_FRAME = [0xf8, 0xff, 0xfe]
/** 20 ms at Opus's 48 kHz granule rate. */
const SAMPLES_PER_FRAME = 960

/** One page holding whole packets (each under 255 bytes, so one lacing value each). */
const page = (
  packets: ReadonlyArray<ReadonlyArray<number>>,
  sequence: number,
  granule: number,
  flags: number
): Uint8Array => {
  const body = packets.flat()
  const header = new Uint8Array(27 + packets.length)
  const view = new DataView(header.buffer)
  header.set([0x4f, 0x67, 0x67, 0x53], 0) // "OggS"
  header[4] = 0 // version
  header[5] = flags // 0x02 first page, 0x04 last page
  view.setBigUint64(6, BigInt(granule), true)
  view.setUint32(14, SERIAL, true)
  view.setUint32(18, sequence, true)
  header[26] = packets.length
  packets.forEach((packet, index) => {
    header[27 + index] = packet.length
  })
  const whole = new Uint8Array(header.length + body.length)
  whole.set(header, 0)
  whole.set(body, header.length)
  new DataView(whole.buffer).setUint32(22, oggCrc(whole), true)
  return whole
}

const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0))
const le16 = (value: number) => [value & 0xff, (value >> 8) & 0xff]
const le32 = (value: number) => [
  value & 0xff,
  (value >> 8) & 0xff,
  (value >> 16) & 0xff,
  (value >>> 24) & 0xff
]

/** `frames` × 20 ms of silence (default one second), mono, 48 kHz. */
export const silentOggOpus = (frames = 50): Uint8Array => {
  const head = [...ascii("OpusHead"), 1, 1, ...le16(PRE_SKIP), ...le32(48_000), ...le16(0), 0]
  const vendor = ascii("botfleet-test")
  const tags = [...ascii("OpusTags"), ...le32(vendor.length), ...vendor, ...le32(0)]
  const audio = Array.from({ length: frames }, () => SILENCE_FRAME)
  const pages = [
    page([head], 0, 0, 0x02),
    page([tags], 1, 0, 0),
    // The end granule counts every decoded sample, the pre-skip among them (RFC 7845 §4).
    page(audio, 2, frames * SAMPLES_PER_FRAME, 0x04)
  ]
  const file = new Uint8Array(pages.reduce((sum, one) => sum + one.length, 0))
  let offset = 0
  for (const one of pages) {
    file.set(one, offset)
    offset += one.length
  }
  return file
}

/** The pages of an Ogg stream, each with whether its checksum holds: enough to check a file is Ogg. */
export const oggPages = (
  file: Uint8Array
): ReadonlyArray<{ readonly flags: number; readonly body: Uint8Array; readonly crcOk: boolean }> => {
  const pages: Array<{ readonly flags: number; readonly body: Uint8Array; readonly crcOk: boolean }> = []
  let offset = 0
  while (offset + 27 <= file.length) {
    const view = new DataView(file.buffer, file.byteOffset + offset)
    if (view.getUint32(0, false) !== 0x4f676753) break
    const segments = file[offset + 26]!
    const lacing = file.subarray(offset + 27, offset + 27 + segments)
    const bodyLength = lacing.reduce((sum, value) => sum + value, 0)
    const end = offset + 27 + segments + bodyLength
    const copy = file.slice(offset, end)
    const stored = new DataView(copy.buffer).getUint32(22, true)
    new DataView(copy.buffer).setUint32(22, 0, true)
    pages.push({
      flags: file[offset + 5]!,
      body: file.subarray(offset + 27 + segments, end),
      crcOk: oggCrc(copy) === stored
    })
    offset = end
  }
  return pages
}

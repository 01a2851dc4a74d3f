/**
 * The Ogg container for Opus (RFC 3533, RFC 7845): an `OpusHead` page, an
 * `OpusTags` page, then the audio packets in pages with their checksums and
 * granule positions. Telegram plays a voice note only in this container.
 * The test fakes build their Ogg files with this too, so it is written once.
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

export const FLAG_CONTINUED = 0x01
export const FLAG_FIRST = 0x02
export const FLAG_LAST = 0x04

/** One page of whole packets; a packet of 255 bytes or more takes several lacing values. */
export const oggPage = (
  packets: ReadonlyArray<Uint8Array>,
  options: {
    readonly serial: number
    readonly sequence: number
    readonly granule: number
    readonly flags: number
  }
): Uint8Array => {
  const lacing: Array<number> = []
  for (const packet of packets) {
    let left = packet.length
    while (left >= 255) {
      lacing.push(255)
      left -= 255
    }
    lacing.push(left)
  }
  if (lacing.length > 255) throw new RangeError("an Ogg page holds at most 255 lacing values")
  const bodyLength = packets.reduce((sum, packet) => sum + packet.length, 0)
  const page = new Uint8Array(27 + lacing.length + bodyLength)
  const view = new DataView(page.buffer)
  page.set([0x4f, 0x67, 0x67, 0x53], 0) // "OggS"
  page[4] = 0 // version
  page[5] = options.flags
  view.setBigUint64(6, BigInt(options.granule), true)
  view.setUint32(14, options.serial, true)
  view.setUint32(18, options.sequence, true)
  page[26] = lacing.length
  page.set(lacing, 27)
  let offset = 27 + lacing.length
  for (const packet of packets) {
    page.set(packet, offset)
    offset += packet.length
  }
  view.setUint32(22, oggCrc(page), true)
  return page
}

const ascii = (text: string): Array<number> => [...text].map((char) => char.charCodeAt(0))
const le16 = (value: number) => [value & 0xff, (value >> 8) & 0xff]
const le32 = (value: number) => [
  value & 0xff,
  (value >> 8) & 0xff,
  (value >> 16) & 0xff,
  (value >>> 24) & 0xff
]

export interface OggOpusStream {
  /** Opus packets, each `frameSamples48k` long. */
  readonly packets: ReadonlyArray<Uint8Array>
  /** One packet's length in 48 kHz samples (960 for 20 ms). */
  readonly frameSamples48k: number
  /** The encoder's lookahead in 48 kHz samples, which a player drops from the start. */
  readonly preSkip: number
  /** The audio's length in 48 kHz samples, so a player drops the padding at the end. */
  readonly samples48k: number
  /** What the audio was recorded at (informational: Opus always decodes at 48 kHz). */
  readonly inputSampleRate: number
  readonly channels: number
  readonly serial?: number | undefined
  readonly vendor?: string | undefined
}

/** About 50 packets (one second of 20 ms frames) a page, as encoders usually do. */
const PACKETS_PER_PAGE = 50

export const muxOggOpus = (stream: OggOpusStream): Uint8Array => {
  const serial = stream.serial ?? 0x0b07f1ee
  const head = Uint8Array.from([
    ...ascii("OpusHead"),
    1,
    stream.channels,
    ...le16(stream.preSkip),
    ...le32(stream.inputSampleRate),
    ...le16(0), // output gain
    0 // channel mapping family 0: mono or stereo
  ])
  const vendor = ascii(stream.vendor ?? "botfleet")
  const tags = Uint8Array.from([...ascii("OpusTags"), ...le32(vendor.length), ...vendor, ...le32(0)])
  const pages = [
    oggPage([head], { serial, sequence: 0, granule: 0, flags: FLAG_FIRST }),
    oggPage([tags], { serial, sequence: 1, granule: 0, flags: 0 })
  ]
  // The end granule counts every decoded sample, the pre-skip among them (RFC 7845 §4).
  const end = stream.preSkip + stream.samples48k
  const lacingOf = (packet: Uint8Array) => Math.floor(packet.length / 255) + 1
  let first = 0
  while (first < stream.packets.length) {
    let next = first
    let lacing = 0
    while (
      next < stream.packets.length &&
      next - first < PACKETS_PER_PAGE &&
      lacing + lacingOf(stream.packets[next]!) <= 255
    ) {
      lacing += lacingOf(stream.packets[next]!)
      next++
    }
    const last = next >= stream.packets.length
    const granule = last ? end : Math.min(end, next * stream.frameSamples48k)
    pages.push(
      oggPage(stream.packets.slice(first, next), {
        serial,
        sequence: pages.length,
        granule,
        flags: last ? FLAG_LAST : 0
      })
    )
    first = next
  }
  const file = new Uint8Array(pages.reduce((sum, page) => sum + page.length, 0))
  let offset = 0
  for (const page of pages) {
    file.set(page, offset)
    offset += page.length
  }
  return file
}

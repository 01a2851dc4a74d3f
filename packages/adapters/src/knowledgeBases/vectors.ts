/** How vectors are written for PostgreSQL: a `real[]` literal, and the sign bits the candidate scan compares. */

/** `{0.1,-0.2,...}`: what `::real[]` reads. */
export const vectorLiteral = (vector: ReadonlyArray<number>): string =>
  `{${vector.map((x) => (Number.isFinite(x) ? x : 0)).join(",")}}`

/** One bit per dimension, 1 where the component is positive: `::bit varying` reads the string. */
export const signBits = (vector: ReadonlyArray<number>): string =>
  vector.map((x) => (x > 0 ? "1" : "0")).join("")

/** Unit length, so a dot product is the cosine; a zero vector stays zero. */
export const normalize = (vector: ReadonlyArray<number>): ReadonlyArray<number> => {
  let norm = 0
  for (const x of vector) norm += x * x
  norm = Math.sqrt(norm)
  return norm === 0 ? vector.map(() => 0) : vector.map((x) => x / norm)
}

/** Little-endian float32 bytes, hex-encoded for `decode(…, 'hex')`. */
export const float32Hex = (vector: ReadonlyArray<number>): string => {
  const bytes = new Float32Array(vector.length)
  vector.forEach((x, i) => {
    bytes[i] = Number.isFinite(x) ? x : 0
  })
  return Buffer.from(bytes.buffer).toString("hex")
}

/** A `bytea` of float32s back as numbers (a copy, so the buffer's alignment does not matter). */
export const fromFloat32 = (bytes: Uint8Array): Float32Array => {
  const copy = new Uint8Array(bytes.byteLength - (bytes.byteLength % 4))
  copy.set(bytes.subarray(0, copy.byteLength))
  return new Float32Array(copy.buffer)
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0)
  return sum
}

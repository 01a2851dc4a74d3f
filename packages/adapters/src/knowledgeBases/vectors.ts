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

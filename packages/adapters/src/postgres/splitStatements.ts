/**
 * Splits a SQL script into statements at top-level semicolons, so a migration
 * file can hold several (the driver's extended protocol takes one at a time).
 * Quotes, dollar-quoted bodies and comments are skipped over.
 */
export const splitStatements = (script: string): Array<string> => {
  const statements: Array<string> = []
  let start = 0
  let i = 0
  const skipUntil = (terminator: string, from: number): number => {
    const end = script.indexOf(terminator, from)
    return end === -1 ? script.length : end + terminator.length
  }
  while (i < script.length) {
    const char = script[i]
    const next = script[i + 1]
    if (char === "-" && next === "-") {
      i = skipUntil("\n", i + 2)
    } else if (char === "/" && next === "*") {
      i = skipUntil("*/", i + 2)
    } else if (char === "'" || char === '"') {
      i = skipUntil(char, i + 1)
    } else if (char === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i))
      i = tag ? skipUntil(tag[0], i + tag[0].length) : i + 1
    } else if (char === ";") {
      statements.push(script.slice(start, i))
      start = ++i
    } else {
      i++
    }
  }
  statements.push(script.slice(start))
  return statements.map((statement) => statement.trim()).filter((statement) => !isOnlyComments(statement))
}

const isOnlyComments = (statement: string): boolean =>
  statement
    .replace(/--[^\n]*/g, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .trim() === ""

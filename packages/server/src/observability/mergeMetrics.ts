/**
 * Prometheus text from several registries of one process (the HTTP thread and
 * the pipeline thread) as one exposition: each family once, and a series that
 * both count (the same name and labels) added up, which is right for
 * counters, histogram buckets, sums and counts, and for the gauges both keep
 * (connections, chats in flight).
 */
import { Context, Effect } from "effect"

interface Family {
  readonly comments: Array<string>
  readonly samples: Map<string, number>
}

export const mergeMetrics = (texts: ReadonlyArray<string>): string => {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let found = families.get(name)
    if (found === undefined) {
      found = { comments: [], samples: new Map() }
      families.set(name, found)
    }
    return found
  }
  for (const text of texts) {
    // Samples follow their family's HELP and TYPE lines.
    let current = ""
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue
      const comment = /^# (HELP|TYPE) (\S+)/.exec(line)
      if (comment) {
        current = comment[2]!
        const found = family(current)
        if (!found.comments.some((seen) => seen.startsWith(`# ${comment[1]} `))) found.comments.push(line)
        continue
      }
      if (line.startsWith("#")) continue
      const split = line.lastIndexOf(" ")
      const series = line.slice(0, split)
      const value = Number(line.slice(split + 1))
      const samples = family(current).samples
      samples.set(series, (samples.get(series) ?? 0) + value)
    }
  }
  const lines: Array<string> = []
  for (const { comments, samples } of families.values()) {
    lines.push(...comments)
    for (const [series, value] of samples) lines.push(`${series} ${value}`)
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}

/** Metrics kept outside this thread's registry (the pipeline thread's), added to /metrics. */
export const OtherMetrics = Context.Reference<Effect.Effect<ReadonlyArray<string>>>(
  "@botfleet/server/OtherMetrics",
  { defaultValue: () => Effect.succeed([]) }
)

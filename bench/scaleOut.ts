/**
 * Scale-out scenario: end-to-end replies/s with one server process, then with
 * two processes sharing the database (instant fakes, 100 bots x 10 chats x 3
 * messages, webhook posts spread round-robin over the processes' ports, each
 * chat's messages alternating between them).
 *
 *   const rows = await scaleOut(databaseUrl)        // two rows: 1 and 2 processes
 *   const row = await scaleOutRun(databaseUrl, 2)   // one row
 */
import { readdirSync, readFileSync } from "node:fs"
import {
  cpuSeconds,
  type PostItem,
  percentile,
  postAll,
  type Row,
  resetDatabase,
  type Server,
  seedBots,
  startFakes,
  startServer,
  stop,
  stopFakes,
  update,
  waitForSends
} from "./harness.ts"

const BOTS = 100
const CHATS_PER_BOT = 10
const MESSAGES_PER_CHAT = 3

/** PostgreSQL's CPU seconds: the postmaster listening on the URL's port, its live backends, its reaped ones. */
const postgresCpuSeconds = (databaseUrl: string): number => {
  const port = new URL(databaseUrl).port
  const pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name))
  const read = (pid: string, file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, "utf8")
    } catch {
      return ""
    }
  }
  const postmaster = pids.find((pid) => {
    const args = read(pid, "cmdline").split("\0")
    return args[0]?.endsWith("/postgres") === true && args[args.indexOf("-p") + 1] === port
  })
  if (postmaster === undefined) return 0
  const fieldsOf = (pid: string) => read(pid, "stat").split(") ")[1]?.split(" ") ?? []
  const own = fieldsOf(postmaster)
  let ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(own[i] ?? 0), 0)
  for (const pid of pids) {
    const fields = fieldsOf(pid)
    if (fields[1] === postmaster) ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  }
  return ticks / 100
}

/** Busy and total jiffies of the whole machine. */
const machineTicks = () => {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0)
  const total = cpu.reduce((sum, value) => sum + value, 0)
  return { busy: total - idle, total }
}

/** `telegram_messages_sent_total{outcome="ok"}` summed over bots: what this process sent. */
const sentByProcess = async (server: Server) => {
  const text = await fetch(`${server.baseUrl}/metrics`).then((response) => response.text())
  let total = 0
  for (const line of text.split("\n")) {
    if (line.startsWith("telegram_messages_sent_total{") && line.includes('outcome="ok"')) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1))
    }
  }
  return total
}

/**
 * One run: `processes` servers on the database, replies end to end with instant
 * fakes. Resets the database first; starts and stops its own fakes and servers.
 */
export const scaleOutRun = async (databaseUrl: string, processes: number): Promise<Row> => {
  await resetDatabase(databaseUrl)
  const fakes = await startFakes(0)
  const servers: Array<Server> = []
  try {
    const bots = await seedBots(databaseUrl, BOTS, fakes)
    const first = await startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: "1000" })
    servers.push(first)
    // Webhooks would be registered at the first process; the others only share its database.
    const others = await Promise.all(
      Array.from({ length: processes - 1 }, () =>
        startServer(databaseUrl, fakes, { PIPELINE_CONCURRENCY: "1000", PUBLIC_URL: first.baseUrl })
      )
    )
    servers.push(...others)

    const postedAt = new Map<string, number>()
    const items: Array<PostItem> = []
    for (let round = 0; round < MESSAGES_PER_CHAT; round++) {
      for (let b = 0; b < bots.length; b++) {
        for (let c = 0; c < CHATS_PER_BOT; c++) {
          const chatId = 5_000_000 + b * 100 + c
          const text = `bot ${b} chat ${c} message ${round}`
          items.push({
            // Round-robin over the processes, and each chat's messages alternate between them.
            baseUrl: servers[(b * CHATS_PER_BOT + c + round) % servers.length]!.baseUrl,
            bot: bots[b]!,
            body: update(chatId, text),
            onSend: () => postedAt.set(`reply to: ${text}`, Date.now())
          })
        }
      }
    }

    const cpuBefore = servers.map((server) => cpuSeconds(server.child.pid))
    const fakesCpuBefore = cpuSeconds(fakes.child.pid)
    const postgresCpuBefore = postgresCpuSeconds(databaseUrl)
    const driverCpuBefore = process.cpuUsage()
    const machineBefore = machineTicks()
    const started = Date.now()
    const posted = await postAll(items, 64)
    const sent = await waitForSends(fakes, items.length, 300_000)
    const last = Math.max(started, ...sent.map(([, , time]) => time))
    const machineAfter = machineTicks()
    const serverCpu = servers.map((server, i) => cpuSeconds(server.child.pid) - cpuBefore[i]!)
    const fakesCpu = cpuSeconds(fakes.child.pid) - fakesCpuBefore
    const postgresCpu = postgresCpuSeconds(databaseUrl) - postgresCpuBefore
    const driverUsage = process.cpuUsage(driverCpuBefore)
    const driverCpu = (driverUsage.user + driverUsage.system) / 1e6
    const latencies = sent.map(([, text, time]) => time - (postedAt.get(text) ?? time))
    const split = await Promise.all(servers.map(sentByProcess))
    const distinct = new Set(sent.map(([chatId, text]) => `${chatId}|${text}`)).size
    const seconds = (last - started) / 1000
    return {
      scenario: `scale-out, ${processes} process${processes === 1 ? "" : "es"} (${BOTS} bots x ${CHATS_PER_BOT} chats x ${MESSAGES_PER_CHAT})`,
      replies: sent.length,
      "per second": Math.round(sent.length / seconds),
      p50_ms: percentile(latencies, 50),
      p95_ms: percentile(latencies, 95),
      p99_ms: percentile(latencies, 99),
      failures: items.length - distinct + posted.failures,
      repeats: sent.length - distinct,
      "sent per process": split.join(" / "),
      "server CPU s": serverCpu.map((value) => value.toFixed(1)).join(" / "),
      "postgres CPU s": Number(postgresCpu.toFixed(1)),
      "fakes CPU s": Number(fakesCpu.toFixed(1)),
      "driver CPU s": Number(driverCpu.toFixed(1)),
      seconds: Number(seconds.toFixed(1)),
      "machine busy %": Math.round(
        (100 * (machineAfter.busy - machineBefore.busy)) /
          Math.max(1, machineAfter.total - machineBefore.total)
      )
    }
  } finally {
    await Promise.all(servers.map((server) => stop(server.child)))
    await stopFakes(fakes)
  }
}

/** The scenario: one process, then two sharing the database; one row each. */
export const scaleOut = async (databaseUrl: string): Promise<Array<Row>> => [
  await scaleOutRun(databaseUrl, 1),
  await scaleOutRun(databaseUrl, 2)
]

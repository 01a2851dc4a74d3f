/**
 * Where the embedded cluster lives and who runs it.
 *
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres`
 * user (created when missing). That user must be able to reach the binaries
 * and the data folder. In a private folder (a clone in root's home, a
 * `mktemp -d` folder) it cannot, so whatever it cannot reach is placed under
 * /var/lib/botfleet instead, and the caller says so in the log.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  writeFileSync
} from "node:fs"
import path from "node:path"
import { binary, type PostgresBinaries } from "./binaries.ts"

export interface RunAs {
  readonly uid: number
  readonly gid: number
}

export interface Placement {
  readonly binaries: PostgresBinaries
  readonly clusterDir: string
  /** Set under root: the user PostgreSQL runs as. */
  readonly runAs: RunAs | undefined
  /** Set when the data is not under DATA_DIR, with the reason. */
  readonly relocated: string | undefined
}

/** Shared home for what the `postgres` user must reach when running as root. */
export const SHARED_ROOT = "/var/lib/botfleet"

const isRoot = () => process.getuid?.() === 0

const lookupUser = (): RunAs | undefined => {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { stdio: ["ignore", "pipe", "ignore"] }))
    const gid = Number(execFileSync("id", ["-g", "postgres"], { stdio: ["ignore", "pipe", "ignore"] }))
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined
  } catch {
    return undefined
  }
}

/** The `postgres` system user, created when missing; a sentence when that fails. */
const postgresUser = (): RunAs | string => {
  const existing = lookupUser()
  if (existing !== undefined) return existing
  try {
    execFileSync("groupadd", ["--force", "--system", "postgres"], { stdio: "ignore" })
    execFileSync("useradd", ["--system", "--gid", "postgres", "--no-create-home", "postgres"], {
      stdio: "ignore"
    })
  } catch (error) {
    return `PostgreSQL cannot run as root and the "postgres" user could not be created (${error instanceof Error ? error.message : String(error)}); create it, run as another user, or set DATABASE_URL`
  }
  return lookupUser() ?? 'the "postgres" user was created but cannot be found'
}

/** Whether `user` can pass `test <flag> target` (every parent folder must let it through). */
const userCan = (user: RunAs, flag: "-x" | "-w", target: string): boolean =>
  spawnSync("/bin/sh", ["-c", `test ${flag} "$1"`, "sh", target], {
    uid: user.uid,
    gid: user.gid,
    cwd: "/",
    stdio: "ignore"
  }).status === 0

/** Copies `binaries` where `user` can run them, once per version (an atomic rename, so parallel starts agree). */
const reachableBinaries = (binaries: PostgresBinaries, user: RunAs): PostgresBinaries => {
  if (userCan(user, "-x", binary(binaries, "postgres"))) return binaries
  const target = path.join(SHARED_ROOT, `postgres-${binaries.version}-${process.platform}-${process.arch}`)
  const copy = { root: target, version: binaries.version }
  if (existsSync(binary(copy, "postgres"))) return copy
  mkdirSync(SHARED_ROOT, { recursive: true, mode: 0o755 })
  chmodSync(SHARED_ROOT, 0o755)
  const staging = `${target}.partial-${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  cpSync(binaries.root, staging, { recursive: true, verbatimSymlinks: true })
  try {
    renameSync(staging, target)
  } catch {
    rmSync(staging, { recursive: true, force: true }) // another process put it there first
  }
  return copy
}

/** `/var/lib/botfleet/data/<folder>-<hash of the full path>`: stable for one DATA_DIR, distinct for two. */
const sharedDataDir = (dataDir: string) => {
  const absolute = path.resolve(dataDir)
  const hash = createHash("sha256").update(absolute).digest("hex").slice(0, 10)
  const name = path.basename(path.dirname(absolute)).replace(/[^A-Za-z0-9_.-]/g, "_") || "data"
  return path.join(SHARED_ROOT, "data", `${name}-${hash}`)
}

/** Decides binaries, cluster folder and user for `dataDir` (which exists). */
export const placeCluster = (folder: string, binaries: PostgresBinaries): Placement | string => {
  const dataDir = path.resolve(folder)
  const clusterDir = path.join(dataDir, "postgres")
  if (!isRoot()) return { binaries, clusterDir, runAs: undefined, relocated: undefined }
  const user = postgresUser()
  if (typeof user === "string") return user
  // Our own folder: let the postgres user enter it (not read it: the secrets key stays private).
  chmodSync(dataDir, 0o711)
  let placement: Placement = {
    binaries: reachableBinaries(binaries, user),
    clusterDir,
    runAs: user,
    relocated: undefined
  }
  if (!userCan(user, "-x", dataDir)) {
    const shared = sharedDataDir(dataDir)
    mkdirSync(shared, { recursive: true, mode: 0o755 })
    for (const folder of [SHARED_ROOT, path.dirname(shared), shared]) chmodSync(folder, 0o755)
    placement = {
      ...placement,
      clusterDir: path.join(shared, "postgres"),
      relocated: `PostgreSQL runs as the "postgres" user under root, and that user cannot enter ${dataDir} (a parent folder is private)`
    }
    writeFileSync(
      path.join(dataDir, "postgres-location.txt"),
      `The embedded PostgreSQL data for this folder is in ${placement.clusterDir}\nbecause ${placement.relocated}.\n`
    )
  }
  mkdirSync(placement.clusterDir, { recursive: true, mode: 0o700 })
  chownSync(placement.clusterDir, user.uid, user.gid)
  return placement
}

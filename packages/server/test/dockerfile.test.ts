/**
 * The production image, checked without Docker (no engine runs here): it
 * installs production dependencies only, links every workspace, runs as a
 * normal user, and starts the server the way `npm start` does.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const dockerfile = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8")
const manifest = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  workspaces: ReadonlyArray<string>
  scripts: Record<string, string>
  devDependencies: Record<string, string>
}

describe("Dockerfile", () => {
  it("copies every workspace's package.json, or npm ci cannot link it", () => {
    for (const workspace of manifest.workspaces) {
      assert.include(dockerfile, `COPY ${workspace}/package.json ${workspace}/`)
    }
  })

  it("installs production dependencies only and drops the developers' Node binary", () => {
    assert.match(dockerfile, /npm ci --omit=dev /)
    assert.match(dockerfile, /rm -rf node_modules\/node-linux-\*/)
    const production = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
      cwd: repoRoot,
      encoding: "utf8"
    })
    const installed = new Set(production.split("\n").map((line) => line.split("node_modules/").at(-1)))
    // telegraf is there for its Bot API types only; with it went node-fetch (and its old whatwg-url).
    for (const devOnly of [
      "vitest",
      "typescript",
      "@biomejs/biome",
      "@effect/vitest",
      "telegraf",
      "@telegraf/types",
      "node-fetch"
    ]) {
      assert.isFalse(installed.has(devOnly), `${devOnly} is not in the image`)
    }
  })

  it("imports telegraf for types only, so the image can run without it", () => {
    const sources = execFileSync("git", ["ls-files", "packages/*/src/**"], {
      cwd: repoRoot,
      encoding: "utf8"
    })
      .split("\n")
      .filter((file) => /\.(ts|js)$/.test(file))
    const found: Array<string> = []
    for (const file of sources) {
      const text = readFileSync(path.join(repoRoot, file), "utf8")
      for (const match of text.matchAll(
        /^.*(?:from|import|require)\s*\(?\s*["']telegraf(?:\/[^"']*)?["'].*$/gm
      )) {
        found.push(`${file}: ${match[0].trim()}`)
      }
    }
    assert.isNotEmpty(found, "the Bot API client is typed by telegraf")
    for (const line of found) assert.match(line, /: import type /, line)
  })

  it("runs as a normal user and starts what npm start starts", () => {
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((match) => match[1])
    assert.deepStrictEqual(users, ["node"])
    const start = manifest.scripts.start?.replace(/^node /, "") ?? ""
    assert.include(dockerfile, `CMD ["node", "${start}"]`)
    assert.isTrue(existsSync(path.join(repoRoot, start)))
  })
})

import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["./vitest.globalSetup.ts"],
    testTimeout: 30_000,
    // Server logs only for a test that failed; passing tests print their result alone.
    silent: "passed-only",
    hookTimeout: 60_000
  }
})

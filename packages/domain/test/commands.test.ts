import { assert, describe, it } from "@effect/vitest"
import { parseCommand } from "../src/commands.ts"

describe("parseCommand", () => {
  it("reads our commands, with or without the bot's name and arguments", () => {
    assert.strictEqual(parseCommand("/start", "my_bot"), "start")
    assert.strictEqual(parseCommand("/HELP@My_Bot", "my_bot"), "help")
    assert.strictEqual(parseCommand("/refresh please", "my_bot"), "refresh")
  })

  it("knows a command it does not have, and ignores other bots' commands and plain text", () => {
    assert.strictEqual(parseCommand("/weather", "my_bot"), "unknown")
    assert.strictEqual(parseCommand("/help@other_bot", "my_bot"), undefined)
    assert.strictEqual(parseCommand("what is /start?", "my_bot"), undefined)
    assert.strictEqual(parseCommand("/ start", "my_bot"), undefined)
  })
})

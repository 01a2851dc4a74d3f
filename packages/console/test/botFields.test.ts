/**
 * The bot form's bodies: a new bot sends only what was filled in; an edit
 * sends only what changed, with the types the API expects.
 */
import { assert, describe, it } from "@effect/vitest"
import { bodyFrom, botFields, inputValue, parseJson } from "../assets/botFields.js"
import { markInvalidField } from "../assets/botForm.js"

interface Field {
  readonly name: string
  readonly kind: string
  readonly nullable?: boolean
}

/** Stand-ins for the inputs: what the form reads is `.value` (and `.checked`). */
const inputsFor = (
  fields: ReadonlyArray<Field>,
  bot: unknown,
  changes: Record<string, string | boolean> = {}
) =>
  new Map(
    fields.map((field) => {
      const change = changes[field.name]
      const value = change === undefined ? String(inputValue(field, bot)) : String(change)
      return [
        field.name,
        { value, checked: change === true || (change === undefined && inputValue(field, bot) === true) }
      ]
    })
  )

const bot = {
  name: "Support",
  model: "gpt-4o",
  historyLimit: 20,
  systemPrompt: "Be brief.",
  startMessage: "Hi",
  helpMessage: "Help",
  errorMessage: "Sorry",
  groupMode: "mention",
  streaming: true,
  voice: true,
  vision: true,
  knowledgeOnly: false,
  voiceReplies: "off",
  speechModel: "gpt-4o-mini-tts",
  speechVoice: "alloy",
  language: "en",
  texts: {},
  knowledgeMode: "inject",
  imageModel: "gpt-image-1",
  tools: [],
  mcpServerIds: [],
  knowledgeBaseIds: [],
  maxToolSteps: 5,
  timeZone: "UTC",
  maxConcurrentChats: null,
  access: "open",
  allowedUserIds: [],
  allowedChatIds: [],
  blockedUserIds: [],
  deniedMessage: "Sorry, this bot is private.",
  limits: {
    userMessagesPerMinute: null,
    userMessagesPerDay: null,
    userTokensPerDay: null,
    userUsdPerMonth: null,
    botUsdPerMonth: null
  },
  limitMessage: "You have reached the {limit} limit.",
  historyRetentionDays: null,
  personas: [],
  defaultPersona: null,
  personaLocked: false
}

describe("bot form bodies", () => {
  it("an unchanged form sends nothing", () => {
    assert.deepStrictEqual(bodyFrom(botFields, inputsFor(botFields, bot), bot), {})
  })

  it("an edit sends only the changed fields, numbers as numbers and an empty model as null", () => {
    const inputs = inputsFor(botFields, bot, {
      historyLimit: "35",
      model: "  ",
      systemPrompt: "Answer in French."
    })
    assert.deepStrictEqual(bodyFrom(botFields, inputs, bot), {
      historyLimit: 35,
      model: null,
      systemPrompt: "Answer in French."
    })
  })

  it("history retention: days as a number; emptied, null (keep every message)", () => {
    const set = inputsFor(botFields, bot, { historyRetentionDays: "30" })
    assert.deepStrictEqual(bodyFrom(botFields, set, bot), { historyRetentionDays: 30 })
    const retained = { ...bot, historyRetentionDays: 30 }
    assert.deepStrictEqual(bodyFrom(botFields, inputsFor(botFields, retained), retained), {})
    const cleared = inputsFor(botFields, retained, { historyRetentionDays: "" })
    assert.deepStrictEqual(bodyFrom(botFields, cleared, retained), { historyRetentionDays: null })
  })

  it("a new bot sends the filled fields only, so the server's defaults apply to the rest", () => {
    // The form for a new bot asks only the `onCreate` fields (botFormSections).
    const createFields = botFields.filter((field) => "onCreate" in field && field.onCreate)
    const inputs = inputsFor(createFields, null, { name: " Sales ", systemPrompt: "Sell politely." })
    assert.deepStrictEqual(bodyFrom(createFields, inputs, null), {
      name: "Sales",
      systemPrompt: "Sell politely."
    })
  })

  it("access and limits: an allowlist and one limit send the lists and the whole limits object", () => {
    const inputs = inputsFor(botFields, bot, {
      access: "allowlist",
      allowedUserIds: "111111111, 222222222",
      allowedChatIds: " -1001234567890 ",
      "limits.userMessagesPerDay": "3",
      "limits.userUsdPerMonth": "0.5",
      groupMode: "all",
      voice: false
    })
    assert.deepStrictEqual(bodyFrom(botFields, inputs, bot), {
      access: "allowlist",
      allowedUserIds: [111111111, 222222222],
      allowedChatIds: [-1001234567890],
      limits: { ...bot.limits, userMessagesPerDay: 3, userUsdPerMonth: 0.5 },
      groupMode: "all",
      voice: false
    })
  })

  it("tools: names separated by commas or spaces become a list; the pattern takes only built-in names", () => {
    const inputs = inputsFor(botFields, bot, { tools: "current_time,  fetch_url", maxToolSteps: "2" })
    assert.deepStrictEqual(bodyFrom(botFields, inputs, bot), {
      tools: ["current_time", "fetch_url"],
      maxToolSteps: 2
    })
    const field = botFields.find((candidate) => candidate.name === "tools") as { pattern: string }
    const whole = new RegExp(`^(?:${field.pattern})$`, "v")
    for (const good of ["", "current_time", "current_time, fetch_url remember"])
      assert.isTrue(whole.test(good), good)
    for (const bad of ["clock", "current_time;fetch_url", "rm -rf"]) assert.isFalse(whole.test(bad), bad)
  })

  it("the ids pattern accepts numbers separated by commas or spaces, and nothing else", () => {
    const field = botFields.find((candidate) => candidate.name === "allowedUserIds") as { pattern: string }
    // The browser anchors a pattern to the whole value.
    const whole = new RegExp(`^(?:${field.pattern})$`, "v")
    for (const good of ["", "1", "1, 2 3", " -100123 ,4 ", "1,,2"]) assert.isTrue(whole.test(good), good)
    for (const bad of ["a", "1-2", "1.5", "1;2", "@ann"]) assert.isFalse(whole.test(bad), bad)
  })

  it("nested fields, lists and switches: a changed nested field sends its whole object", () => {
    const fields = [
      { name: "voice", kind: "checkbox" },
      { name: "allowedUserIds", kind: "ids" },
      { name: "limits.userMessagesPerDay", kind: "number", nullable: true },
      { name: "limits.userMessagesPerMinute", kind: "number", nullable: true }
    ]
    const current = {
      voice: false,
      allowedUserIds: [1, 2],
      limits: { userMessagesPerDay: 100, userMessagesPerMinute: 5 }
    }
    const inputs = inputsFor(fields, current, {
      voice: true,
      allowedUserIds: "1, 2 3",
      "limits.userMessagesPerDay": ""
    })
    assert.deepStrictEqual(bodyFrom(fields, inputs, current), {
      voice: true,
      allowedUserIds: [1, 2, 3],
      limits: { userMessagesPerDay: null, userMessagesPerMinute: 5 }
    })
  })
})

describe("texts per language, as JSON", () => {
  it("an edit sends the object parsed; emptied, an empty object; unchanged, nothing", () => {
    const edited = inputsFor(botFields, bot, { texts: '{ "es": { "start": "¡Hola!" } }' })
    assert.deepStrictEqual(bodyFrom(botFields, edited, bot), { texts: { es: { start: "¡Hola!" } } })
    const withTexts = { ...bot, texts: { es: { start: "¡Hola!" } } }
    assert.deepStrictEqual(bodyFrom(botFields, inputsFor(botFields, withTexts), withTexts), {})
    const emptied = inputsFor(botFields, withTexts, { texts: "  " })
    assert.deepStrictEqual(bodyFrom(botFields, emptied, withTexts), { texts: {} })
  })

  it("picks: the ticked ids as a list, compared as a set, so another order is no change", () => {
    const attached = { ...bot, mcpServerIds: ["m-1", "m-2"], knowledgeBaseIds: ["k-1"] }
    // The ticked boxes come in the options' order, not the stored list's.
    const reordered = inputsFor(botFields, attached, { mcpServerIds: "m-2, m-1" })
    assert.deepStrictEqual(bodyFrom(botFields, reordered, attached), {})
    const changed = inputsFor(botFields, attached, { mcpServerIds: "m-2", knowledgeBaseIds: "k-1, k-2" })
    assert.deepStrictEqual(bodyFrom(botFields, changed, attached), {
      mcpServerIds: ["m-2"],
      knowledgeBaseIds: ["k-1", "k-2"]
    })
    const emptied = inputsFor(botFields, attached, { knowledgeBaseIds: "" })
    assert.deepStrictEqual(bodyFrom(botFields, emptied, attached), { knowledgeBaseIds: [] })
  })

  it("text that is not JSON is not taken for an object", () => {
    assert.strictEqual(parseJson('{ "es": '), null)
    assert.deepStrictEqual(parseJson(""), {})
  })
})

describe("the field an API error is about", () => {
  /** Stands in for an input: records what the form does to it. */
  const fakeInput = () => {
    const state = { invalid: false, focused: false }
    return {
      state,
      setAttribute: (name: string, value: string) => {
        if (name === "aria-invalid") state.invalid = value === "true"
      },
      removeAttribute: (name: string) => {
        if (name === "aria-invalid") state.invalid = false
      },
      focus: () => {
        state.focused = true
      }
    }
  }

  it("a 400 names the field by its path; a conflict by its code; the mark can be cleared", () => {
    const history = fakeInput()
    const name = fakeInput()
    const inputs = new Map([
      ["historyLimit", history],
      ["name", name]
    ])
    markInvalidField(inputs, {
      code: "invalid_request",
      message: "body.historyLimit: expected an integer from 0 to 200"
    })
    assert.deepStrictEqual(history.state, { invalid: true, focused: true })
    const perDay = fakeInput()
    markInvalidField(new Map([["limits.userMessagesPerDay", perDay]]), {
      code: "invalid_request",
      message: "body.limits.userMessagesPerDay: expected an integer from 0 to 1000000000 or null"
    })
    assert.deepStrictEqual(perDay.state, { invalid: true, focused: true }, "a nested field by its whole path")
    const clear = markInvalidField(inputs, { code: "name_taken", message: 'a bot named "x" already exists' })
    assert.deepStrictEqual(name.state, { invalid: true, focused: true })
    clear()
    assert.isFalse(name.state.invalid)
  })

  it("a path inside a field marks the field that holds it", () => {
    const texts = fakeInput()
    markInvalidField(new Map([["texts", texts]]), {
      code: "invalid_request",
      message: "body.texts.es.limit: expected the same {placeholders} as the catalogue's text for that key"
    })
    assert.deepStrictEqual(texts.state, { invalid: true, focused: true })
  })

  it("an error about no field marks nothing", () => {
    const name = fakeInput()
    markInvalidField(new Map([["name", name]]), { code: "internal_error", message: "internal error" })
    assert.deepStrictEqual(name.state, { invalid: false, focused: false })
  })
})

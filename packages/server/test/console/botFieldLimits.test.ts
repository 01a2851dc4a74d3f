/**
 * The console's bot form takes its lengths and ranges from /openapi.json, so
 * they are the rules the API enforces, declared once in domain BotSettings.ts.
 */

import { botSettingNames } from "@botfleet/domain"
import { assert, describe, it } from "@effect/vitest"
import { OpenApi } from "effect/http-api"
import { botFields } from "../../../console/assets/botFields.js"
import { limitsOf } from "../../../console/assets/capabilities.js"
import { Api } from "../../src/api/Api.ts"

interface Field {
  readonly name: string
  readonly kind: string
}

const document = OpenApi.fromApi(Api) as unknown as {
  readonly paths: Record<
    string,
    {
      readonly post?: {
        readonly requestBody?: { readonly content: Record<string, { readonly schema: unknown }> }
      }
    }
  >
}
const createBot = document.paths["/api/bots"]?.post?.requestBody?.content["application/json"]?.schema
const limits = limitsOf(createBot, document) as Map<
  string,
  { readonly maxLength?: number; readonly min?: number; readonly max?: number }
>

describe("bot form limits", () => {
  it("are the API's own: texts, counts and nested limits", () => {
    assert.strictEqual(limits.get("name")?.maxLength, 64)
    assert.strictEqual(limits.get("systemPrompt")?.maxLength, 20_000)
    for (const text of ["startMessage", "helpMessage", "errorMessage", "deniedMessage", "limitMessage"]) {
      assert.strictEqual(limits.get(text)?.maxLength, 4096, text)
    }
    assert.deepStrictEqual([limits.get("historyLimit")?.min, limits.get("historyLimit")?.max], [0, 200])
    assert.deepStrictEqual(
      [limits.get("historyRetentionDays")?.min, limits.get("historyRetentionDays")?.max],
      [1, 3650]
    )
    assert.deepStrictEqual([limits.get("temperature")?.min, limits.get("temperature")?.max], [0, 2])
    assert.strictEqual(limits.get("limits.userMessagesPerDay")?.max, 1_000_000_000)
    assert.strictEqual(limits.get("limits.botUsdPerMonth")?.max, 1_000_000)
  })

  it("cover every text and number field of the form", () => {
    for (const field of botFields as ReadonlyArray<Field>) {
      const rule = limits.get(field.name)
      assert.isDefined(rule, `${field.name} is not a field of POST /api/bots`)
      if (field.kind === "text" || field.kind === "textarea") {
        assert.isNumber(rule?.maxLength, `${field.name} has no length limit`)
      }
      if (field.kind === "number") {
        assert.isNumber(rule?.max, `${field.name} has no maximum`)
      }
    }
  })

  it("every bot setting is a field of POST and PATCH /api/bots in /openapi.json", () => {
    const patchBody = (
      document.paths["/api/bots/{id}"] as
        | {
            readonly patch?: {
              readonly requestBody?: { readonly content: Record<string, { readonly schema: unknown }> }
            }
          }
        | undefined
    )?.patch?.requestBody?.content["application/json"]?.schema
    const patchFields = limitsOf(patchBody, document) as Map<string, unknown>
    for (const name of ["name", "token", ...botSettingNames]) {
      const field = name === "limits" ? "limits.userMessagesPerDay" : name
      assert.isTrue(limits.has(field), `POST /api/bots lacks ${name}`)
      assert.isTrue(patchFields.has(field), `PATCH /api/bots/:id lacks ${name}`)
    }
  })
})

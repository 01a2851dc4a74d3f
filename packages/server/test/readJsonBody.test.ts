/**
 * Each way a JSON body can be wrong gets its own answer: only a body over the
 * limit is 413; one that ends early (the client went away mid-body) is 400
 * `body_incomplete`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { HttpServerRequest } from "effect/http"
import { readJsonBody } from "../src/http/readJsonBody.ts"

const post = (body: string | ReadableStream<Uint8Array>) =>
  HttpServerRequest.fromWeb(
    new Request("http://127.0.0.1/telegram/webhook/x", {
      method: "POST",
      body,
      duplex: "half"
    } as RequestInit)
  )

/** A body that sends a few bytes and then breaks, as a client that disconnects does. */
const cutOff = () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"update_id": 1, "mess'))
      controller.error(new Error("aborted"))
    }
  })

const answer = (request: HttpServerRequest.HttpServerRequest, limit = 1024) =>
  Effect.gen(function* () {
    const result = yield* readJsonBody(request, limit)
    if (result.ok) return { status: 200, body: result.value }
    const response = result.response
    const body =
      response.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(response.body.body)) : null
    return { status: response.status, body }
  })

describe("readJsonBody", () => {
  it.effect("reads a JSON body", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* answer(post('{"update_id": 1}')), { status: 200, body: { update_id: 1 } })
    })
  )

  it.effect("a body that breaks off mid-way is 400 body_incomplete, not 413", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* answer(post(cutOff())), {
        status: 400,
        body: { error: { code: "body_incomplete", message: "the body could not be read to its end" } }
      })
    })
  )

  it.effect("only a body over the limit is 413", () =>
    Effect.gen(function* () {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`"${"x".repeat(2_000)}"`))
          controller.close()
        }
      })
      const result = yield* answer(post(stream))
      assert.strictEqual(result.status, 413)
      assert.strictEqual(result.body.error.code, "payload_too_large")
    })
  )

  it.effect("a body that is not JSON is 400 malformed_json", () =>
    Effect.gen(function* () {
      const result = yield* answer(post('{"update_id": '))
      assert.deepStrictEqual(result, {
        status: 400,
        body: { error: { code: "malformed_json", message: "the body is not valid JSON" } }
      })
    })
  )
})

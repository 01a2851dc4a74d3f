/**
 * What layers name their functions with: `Effect.fn` while traces are
 * exported, an untraced equivalent when tracing is off. A named `Effect.fn`
 * makes a span (a no-op one with tracing off), captures a stack frame and
 * changes the fiber's context three times on every call: about 5 µs against
 * 0.3 µs, and one reply goes through about 25 of them. Read while a layer is
 * built: `const fn = yield* spanFn`.
 */
import { Effect, References } from "effect"

type Body = (this: unknown, ...args: Array<unknown>) => unknown
type Pipeable = (effect: Effect.Effect<unknown, unknown, unknown>, ...args: Array<unknown>) => unknown

const isGenerator = (body: Body) => Object.prototype.toString.call(body) === "[object GeneratorFunction]"

/** Like `Effect.fn`'s bodies: a generator, or a function returning an Effect; pipeables get the arguments. */
const untraced = (body: Body, ...pipeables: Array<Pipeable>) => {
  if (isGenerator(body))
    return (Effect.fnUntraced as (...args: Array<unknown>) => unknown)(body, ...pipeables)
  return function (this: unknown, ...args: Array<unknown>) {
    let effect: unknown = Effect.suspend(
      () => body.apply(this, args) as Effect.Effect<unknown, unknown, unknown>
    )
    for (const pipeable of pipeables)
      effect = pipeable(effect as Effect.Effect<unknown, unknown, unknown>, ...args)
    return effect
  }
}

const untracedFn = ((nameOrBody: string | Body, ...rest: Array<unknown>) =>
  typeof nameOrBody === "string"
    ? untraced
    : untraced(nameOrBody, ...(rest as Array<Pipeable>))) as unknown as typeof Effect.fn

export const spanFn: Effect.Effect<typeof Effect.fn> = Effect.map(References.TracerEnabled, (enabled) =>
  enabled ? Effect.fn : untracedFn
)

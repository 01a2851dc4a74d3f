/**
 * `npm start` runs the background work (dispatcher, effect runner, scheduler,
 * long polling) on a worker thread of its own, with its own event loop and
 * database pool, so a webhook is acknowledged while replies are being made
 * instead of queueing behind them, and both cores get used. This thread keeps
 * HTTP (webhook, admin API, health, metrics) and tells the pipeline thread
 * when an update was stored.
 *
 * The pipeline thread is started again if it dies; on shutdown it drains
 * (see Dispatcher) while HTTP drains here.
 */
import { Worker } from "node:worker_threads"
import { Database } from "@botfleet/adapters/postgres"
import { SettingsVersion } from "@botfleet/application"
import { Context, Deferred, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import type { AppConfigShape } from "../config/AppConfig.ts"
import { OtherMetrics } from "../observability/mergeMetrics.ts"
import { Dispatcher } from "./Dispatcher.ts"

/** From this thread to the pipeline thread. */
export type ToPipeline =
  | { readonly type: "wake" }
  | { readonly type: "metrics"; readonly id: number }
  | { readonly type: "drain" }
  | { readonly type: "stop" }

/** From the pipeline thread. */
export type FromPipeline =
  | { readonly type: "ready" }
  | { readonly type: "metrics"; readonly id: number; readonly text: string }
  | { readonly type: "failed"; readonly message: string }
  /** A newer settings version, seen with a leased update (see SettingsVersion). */
  | { readonly type: "settings"; readonly version: number }

export class PipelineThreadFailed extends Schema.TaggedError<PipelineThreadFailed>()("PipelineThreadFailed", {
  message: Schema.String
}) {}

const entry = new URL("./pipelineWorker.ts", import.meta.url)

/** A scrape waits this long for the pipeline thread's metrics, then shows this thread's alone. */
const METRICS_TIMEOUT_MS = 2_000

export const layer = (config: AppConfigShape) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const database = yield* Database.DatabaseInfo
      const settings = yield* SettingsVersion
      const state = { worker: undefined as Worker | undefined, stopping: false, nextId: 0 }
      const pending = new Map<number, (text: string) => void>()
      const post = (message: ToPipeline) => state.worker?.postMessage(message)

      /** One pipeline thread; resolves once it is running, fails if it cannot start. */
      const start = Effect.callback<Worker, PipelineThreadFailed>((resume) => {
        const worker = new Worker(entry, {
          // The same configuration, on the database this thread opened (embedded or not).
          env: { ...process.env, DATABASE_URL: Redacted.value(database.url) },
          // A larger young generation: in the mixed bench 16 MB gave 7.2 ms of CPU per reply, 48 MB 6.6 ms,
          // 96 MB 6.5 ms with the same peak RSS as 48.
          resourceLimits: { maxYoungGenerationSizeMb: 48 }
        })
        let ready = false
        worker.on("message", (message: FromPipeline) => {
          switch (message.type) {
            case "ready":
              ready = true
              resume(Effect.succeed(worker))
              return
            case "failed":
              if (!ready) resume(Effect.fail(new PipelineThreadFailed({ message: message.message })))
              return
            case "metrics":
              pending.get(message.id)?.(message.text)
              pending.delete(message.id)
              return
            case "settings":
              Effect.runFork(settings.observe(message.version))
              return
          }
        })
        worker.on("error", (error) => {
          if (!ready) resume(Effect.fail(new PipelineThreadFailed({ message: String(error) })))
        })
        worker.on("exit", (code) => {
          if (!ready)
            resume(Effect.fail(new PipelineThreadFailed({ message: `pipeline thread exited (${code})` })))
        })
      })

      const exited = (worker: Worker) =>
        Effect.callback<number>((resume) => {
          // A thread that has ended has threadId -1 and will not emit "exit" again.
          if (worker.threadId === -1) return resume(Effect.succeed(0))
          worker.once("exit", (code) => resume(Effect.succeed(code)))
        })

      state.worker = yield* start
      yield* Effect.logInfo("pipeline thread started")

      // Started again when it dies (not on shutdown): replies must not stop for good.
      const supervise = Effect.gen(function* () {
        while (true) {
          const code = yield* exited(state.worker!)
          if (state.stopping) return
          yield* Effect.logError("pipeline thread stopped unexpectedly; starting it again", {
            exit_code: code
          })
          yield* Effect.sleep("1 second")
          state.worker = yield* start.pipe(
            Effect.tapError((error) =>
              Effect.logError("pipeline thread does not start", { reason: error.message })
            ),
            Effect.retry(Schedule.spaced("5 seconds")),
            Effect.orDie
          )
        }
      })
      yield* Effect.forkScoped(supervise)

      // A SIGTERM starts the drain at once, while HTTP drains here (not after it).
      const drainNow = () => post({ type: "drain" })
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          process.once("SIGTERM", drainNow)
          process.once("SIGINT", drainNow)
        }),
        () =>
          Effect.sync(() => {
            process.off("SIGTERM", drainNow)
            process.off("SIGINT", drainNow)
          })
      )

      // Shutdown: the thread drains and stops within the grace period, or is terminated.
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          state.stopping = true
          const worker = state.worker
          if (worker === undefined) return
          post({ type: "stop" })
          const done = yield* exited(worker).pipe(
            Effect.timeoutOption(config.shutdownGraceSeconds * 1000 + 5_000)
          )
          if (done._tag === "None") {
            yield* Effect.logWarning("pipeline thread did not stop in time; terminating it")
            yield* Effect.promise(() => worker.terminate())
          }
        })
      )

      const metrics = Effect.gen(function* () {
        const id = state.nextId++
        const answer = yield* Deferred.make<string>()
        pending.set(id, (text) => Deferred.doneUnsafe(answer, Effect.succeed(text)))
        post({ type: "metrics", id })
        const text = yield* Deferred.await(answer).pipe(Effect.timeoutOption(METRICS_TIMEOUT_MS))
        pending.delete(id)
        return text._tag === "Some" ? [text.value] : []
      })

      // The webhooks of one turn of the event loop send one "wake" between them.
      let wakeQueued = false
      const wakeOnce = () => {
        wakeQueued = false
        post({ type: "wake" })
      }

      return Context.make(
        Dispatcher,
        Dispatcher.of({
          wake: Effect.sync(() => {
            if (wakeQueued) return
            wakeQueued = true
            setImmediate(wakeOnce)
          }),
          drain: Effect.sync(drainNow)
        })
      ).pipe(Context.add(OtherMetrics, metrics))
    })
  )

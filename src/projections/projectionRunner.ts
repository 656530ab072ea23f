/**
 * The projection runner: follows `$all` (call streams only) with a catch-up subscription from the
 * lowest checkpoint and applies events in batches. Each batch is ONE SQLite transaction that
 * applies every event to each projection whose checkpoint is behind the event's position and
 * writes those checkpoints (`projection_checkpoints`), so a crash never applies an event twice or
 * skips one, and an at-least-once redelivery is skipped. Projections run in list order, so a later
 * one may read an earlier one's tables in the same transaction (the webhook outbox reads `calls`).
 * A projection that throws stops the runner (a bug must not skip events): the batch rolls back,
 * `run` fails with `ProjectionFailed`, and `waitFor` fails with it from then on.
 */
import { Cause, Chunk, Context, Data, Effect, Layer, Option, Stream, SubscriptionRef } from "effect"
import type { Duration } from "effect"
import { callStreamPrefix } from "../domain/callEvents.js"
import { EventStore } from "../store/eventStore.js"
import type { EventFilter, EventStoreService, Position, RecordedEvent } from "../store/eventStore.js"
import { comparePositions, positionFromString, positionToString } from "../store/position.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { Projection, ProjectionHandler } from "./projection.js"

/** A projection threw while applying an event (or the runner itself broke): the runner stopped there. */
export class ProjectionFailed extends Data.TaggedError("ProjectionFailed")<{
  /** Name of the projection, or `*` when the runner failed outside any projection. */
  readonly projection: string
  readonly event: {
    readonly streamId: string
    readonly revision: bigint
    readonly type: string
    readonly position: string
  } | null
  readonly cause: unknown
}> {
  override get message(): string {
    const at = this.event === null ? "" : ` at ${this.event.type} ${this.event.streamId}@${this.event.revision} (${this.event.position})`
    return `projection ${this.projection} failed${at}: ${String(this.cause)}`
  }
}

/** `rebuild` was asked for projections the runner does not have. */
export class UnknownProjection extends Data.TaggedError("UnknownProjection")<{ readonly names: ReadonlyArray<string> }> {}

/** A committed batch: how many events it read and the position of the last one. */
export interface BatchCommitted {
  readonly position: Position
  readonly events: number
  /** `live` from the subscription, `catch-up` from `catchUp`, `rebuild` from `rebuild`. */
  readonly mode: "live" | "catch-up" | "rebuild"
}

export interface ProjectionRunnerOptions {
  /** Most events per live batch (one transaction). Default 1000. */
  readonly batchSize?: number | undefined
  /** Longest a live batch waits to fill up. Default 5 ms. */
  readonly batchWindow?: Duration.DurationInput | undefined
  /** Events per `readAll` page, and per transaction, in `catchUp` and `rebuild`. Default 10 000. */
  readonly pageSize?: number | undefined
  /** Called after each committed batch (also registered later with `onBatch`). */
  readonly onBatch?: ((batch: BatchCommitted) => void) | undefined
}

/** What `rebuild` did. */
export interface RebuildResult {
  readonly projections: ReadonlyArray<string>
  /** Events read from the log. */
  readonly events: number
  readonly position: Position | null
}

export interface ProjectionRunner {
  /** Projection names, in the order they apply. */
  readonly names: ReadonlyArray<string>
  /** Position every projection has applied (the lowest checkpoint); null before any event. */
  readonly position: () => Position | null
  /** The failure that stopped the runner, if any. */
  readonly failure: () => ProjectionFailed | null
  /**
   * Read-your-writes: resumes once every projection has applied `position` (true), or after
   * `timeout` (false). Fails with `ProjectionFailed` when the runner stopped. Give it the position
   * of an event in a call stream (what `handleCallCommand` returns).
   */
  readonly waitFor: (position: Position, timeout: Duration.DurationInput) => Effect.Effect<boolean, ProjectionFailed>
  /** Adds a listener called after each committed batch; returns its removal. A throwing listener is logged, not fatal. */
  readonly onBatch: (listener: (batch: BatchCommitted) => void) => () => void
  /** Follows the log live, forever; fails only with `ProjectionFailed`. Run one at a time. */
  readonly run: Effect.Effect<void, ProjectionFailed>
  /** Applies everything the log holds now, in pages, and returns the position reached. */
  readonly catchUp: Effect.Effect<Position | null, ProjectionFailed>
  /**
   * Resets the named read models (all when omitted) and their checkpoints, then replays the log
   * from zero in pages of `pageSize` events per transaction. A running `run` keeps feeding the
   * other projections meanwhile and takes the rebuilt ones back once they reach the head.
   * For the `replay` CLI command. Run it where the live runner runs (same process), or with it stopped.
   */
  readonly rebuild: (names?: ReadonlyArray<string>) => Effect.Effect<RebuildResult, ProjectionFailed | UnknownProjection>
}

const checkpointSchema = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  projection TEXT PRIMARY KEY,
  position TEXT NOT NULL
);
`

const callStreams: EventFilter = { streamPrefixes: [callStreamPrefix] }

type Checkpoints = Map<string, Position | null>

/** The lowest checkpoint of `names`; null when any of them has none (start from the beginning). */
const lowest = (checkpoints: Checkpoints, names: ReadonlyArray<string>): Position | null => {
  let min: Position | null = null
  for (const name of names) {
    const p = checkpoints.get(name) ?? null
    if (p === null) return null
    if (min === null || comparePositions(p, min) < 0) min = p
  }
  return min
}

interface RunnerState {
  readonly position: Position | null
  readonly failure: ProjectionFailed | null
}

/**
 * Builds a runner over `db` (read models and checkpoints) and `store` (the log). Creates the
 * projections' tables and `projection_checkpoints`. Starts nothing: fork `run` (or use
 * `projectionsLayer`), or call `catchUp` / `rebuild`.
 */
export const makeProjectionRunner = (
  db: SqliteDatabase,
  store: EventStoreService,
  projections: ReadonlyArray<Projection>,
  options: ProjectionRunnerOptions = {}
): Effect.Effect<ProjectionRunner> =>
  Effect.gen(function*() {
    const batchSize = options.batchSize ?? 1000
    const batchWindow = options.batchWindow ?? "5 millis"
    const pageSize = options.pageSize ?? 10_000
    db.exec(checkpointSchema)
    const handlers: ReadonlyArray<ProjectionHandler> = projections.map((p) => p(db))
    const names = handlers.map((h) => h.name)
    if (new Set(names).size !== names.length) throw new Error(`projection names must be unique: ${names.join(", ")}`)

    const selectCheckpoints = db.prepare<[], { projection: string; position: string }>(
      "SELECT projection, position FROM projection_checkpoints"
    )
    const saveCheckpoint = db.prepare(
      "INSERT INTO projection_checkpoints (projection, position) VALUES (?, ?) ON CONFLICT (projection) DO UPDATE SET position = excluded.position"
    )
    const deleteCheckpoint = db.prepare("DELETE FROM projection_checkpoints WHERE projection = ?")
    const loadCheckpoints = (): Checkpoints => {
      const stored = new Map(selectCheckpoints.all().map((r) => [r.projection, positionFromString(r.position)]))
      return new Map(names.map((n) => [n, stored.get(n) ?? null]))
    }

    // Checkpoints are read inside each transaction, so a second process on the same file
    // (a CLI next to the server) skips what the other already applied.
    const applyBatch = db.transaction(
      (events: ReadonlyArray<RecordedEvent>, selected: ReadonlyArray<ProjectionHandler>): Checkpoints => {
        const checkpoints = loadCheckpoints()
        const advanced = new Set<string>()
        for (const event of events) {
          for (const handler of selected) {
            const checkpoint = checkpoints.get(handler.name) ?? null
            if (checkpoint !== null && comparePositions(event.position, checkpoint) <= 0) continue
            if (handler.eventTypes.has(event.type)) {
              try {
                handler.apply(event)
              } catch (cause) {
                throw new ProjectionFailed({
                  projection: handler.name,
                  event: {
                    streamId: event.streamId,
                    revision: event.revision,
                    type: event.type,
                    position: positionToString(event.position)
                  },
                  cause
                })
              }
            }
            checkpoints.set(handler.name, event.position)
            advanced.add(handler.name)
          }
        }
        for (const name of advanced) saveCheckpoint.run(name, positionToString(checkpoints.get(name)!))
        return checkpoints
      }
    )

    let checkpoints = loadCheckpoints()
    let failure: ProjectionFailed | null = null
    const state = yield* SubscriptionRef.make<RunnerState>({ position: lowest(checkpoints, names), failure: null })
    const listeners = new Set<(batch: BatchCommitted) => void>()
    if (options.onBatch !== undefined) listeners.add(options.onBatch)
    const lock = yield* Effect.makeSemaphore(1)
    const rebuildLock = yield* Effect.makeSemaphore(1)
    /** Projections being rebuilt: the live loop leaves them to `rebuild` until they reach the head. */
    const rebuilding = new Set<string>()

    const publish = Effect.suspend(() => SubscriptionRef.set(state, { position: lowest(checkpoints, names), failure }))
    const stop = (error: ProjectionFailed) =>
      Effect.suspend(() => {
        failure ??= error
        return publish
      }).pipe(Effect.zipRight(Effect.fail(error)))

    const commit = (
      events: ReadonlyArray<RecordedEvent>,
      selected: ReadonlyArray<ProjectionHandler>,
      mode: BatchCommitted["mode"]
    ): Effect.Effect<void, ProjectionFailed> =>
      Effect.suspend(() => {
        if (failure !== null) return Effect.fail(failure)
        const last = events[events.length - 1]
        if (last === undefined) return Effect.void
        try {
          checkpoints = applyBatch.immediate(events, selected)
        } catch (error) {
          if (error instanceof ProjectionFailed) return stop(error)
          return stop(new ProjectionFailed({ projection: "*", event: null, cause: error }))
        }
        const batch: BatchCommitted = { position: last.position, events: events.length, mode }
        return publish.pipe(
          Effect.zipRight(Effect.forEach([...listeners], (listener) =>
            Effect.try(() => listener(batch)).pipe(
              Effect.catchAll((error) => Effect.logError("projections: onBatch listener failed", Cause.die(error.error)))
            ), { discard: true }))
        )
      })

    const run: Effect.Effect<void, ProjectionFailed> = Effect.suspend(() => {
      const after = lowest(loadCheckpoints(), names) ?? undefined
      return store.subscribeToAll({ after, filter: callStreams }).pipe(
        Stream.filterMap((m) => (m._tag === "Event" ? Option.some(m.event) : Option.none())),
        Stream.groupedWithin(batchSize, batchWindow),
        Stream.runForEach((chunk) =>
          lock.withPermits(1)(
            commit(Chunk.toReadonlyArray(chunk), handlers.filter((h) => !rebuilding.has(h.name)), "live")
          )
        )
      )
    }).pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause) || Option.isSome(Cause.failureOption(cause))
          ? Effect.void
          : stop(new ProjectionFailed({ projection: "*", event: null, cause: Cause.pretty(cause) })).pipe(Effect.ignore)
      )
    )

    /** Pages through the log after the lowest checkpoint of `selected`; `onHead` runs under the lock once a short page shows the head. */
    const replay = (
      selected: ReadonlyArray<ProjectionHandler>,
      mode: BatchCommitted["mode"],
      onHead: () => void
    ): Effect.Effect<number, ProjectionFailed> =>
      Effect.gen(function*() {
        let total = 0
        const selectedNames = selected.map((h) => h.name)
        for (;;) {
          const atHead = yield* lock.withPermits(1)(Effect.gen(function*() {
            const after = lowest(loadCheckpoints(), selectedNames) ?? undefined
            const page = yield* store.readAll({ after, maxCount: pageSize, filter: callStreams })
            yield* commit(page, selected, mode)
            total += page.length
            if (page.length < pageSize) {
              onHead()
              return true
            }
            return false
          }))
          if (atHead) return total
        }
      })

    const waitFor = (target: Position, timeout: Duration.DurationInput): Effect.Effect<boolean, ProjectionFailed> =>
      state.changes.pipe(
        Stream.mapEffect((s) =>
          s.failure !== null
            ? Effect.fail(s.failure)
            : Effect.succeed(s.position !== null && comparePositions(s.position, target) >= 0)
        ),
        Stream.filter((reached) => reached),
        Stream.runHead,
        Effect.timeoutTo({ duration: timeout, onSuccess: Option.isSome, onTimeout: () => false })
      )

    const rebuild = (only?: ReadonlyArray<string>): Effect.Effect<RebuildResult, ProjectionFailed | UnknownProjection> =>
      Effect.gen(function*() {
        const unknown = (only ?? []).filter((n) => !names.includes(n))
        if (unknown.length > 0) return yield* Effect.fail(new UnknownProjection({ names: unknown }))
        const selected = only === undefined ? handlers : handlers.filter((h) => only.includes(h.name))
        yield* lock.withPermits(1)(Effect.suspend(() => {
          if (failure !== null) return Effect.fail(failure)
          db.transaction(() => {
            for (const handler of selected) {
              handler.reset()
              deleteCheckpoint.run(handler.name)
            }
          }).immediate()
          for (const handler of selected) rebuilding.add(handler.name)
          checkpoints = loadCheckpoints()
          return publish
        }))
        const events = yield* replay(selected, "rebuild", () => {
          for (const handler of selected) rebuilding.delete(handler.name)
        })
        return { projections: selected.map((h) => h.name), events, position: lowest(checkpoints, selected.map((h) => h.name)) }
      }).pipe(rebuildLock.withPermits(1))

    return {
      names,
      position: () => lowest(checkpoints, names),
      failure: () => failure,
      waitFor,
      onBatch: (listener) => {
        listeners.add(listener)
        return () => {
          listeners.delete(listener)
        }
      },
      run,
      catchUp: replay(handlers, "catch-up", () => undefined).pipe(Effect.map(() => lowest(checkpoints, names))),
      rebuild
    } satisfies ProjectionRunner
  })

/** The running projections of this process. */
export class Projections extends Context.Tag("call-ledger/Projections")<Projections, ProjectionRunner>() {}

/**
 * Scoped layer: builds the runner over `LedgerDatabase` and `EventStore`, forks `run` in the
 * background and interrupts it when the scope closes. A failure is logged and kept in
 * `failure()`; `waitFor` then fails with it. Order `projections` so readers come after what they read.
 */
export const projectionsLayer = (
  projections: ReadonlyArray<Projection>,
  options?: ProjectionRunnerOptions
): Layer.Layer<Projections, never, LedgerDatabase | EventStore> =>
  Layer.scoped(
    Projections,
    Effect.gen(function*() {
      const db = yield* LedgerDatabase
      const store = yield* EventStore
      const runner = yield* makeProjectionRunner(db, store, projections, options)
      yield* Effect.forkScoped(
        runner.run.pipe(Effect.tapErrorCause((cause) => Effect.logError("projections stopped", cause)))
      )
      return runner
    })
  )

/**
 * The projection runner: follows `$all` (the call streams, and any other stream prefix a projection
 * names, such as the webhook endpoints) with a catch-up subscription from the lowest checkpoint
 * and applies events in batches. Each batch is ONE SQLite transaction that
 * applies every event to each projection whose checkpoint is behind the event's position and
 * writes those checkpoints (`projection_checkpoints`), so a crash never applies an event twice or
 * skips one, and an at-least-once redelivery is skipped. Projections run in list order, so a later
 * one may read an earlier one's state in the same transaction (the webhook outbox reads the call
 * view through `readCallView`). A projection may keep rows in memory for the batch (write-behind)
 * and write them in `flush`, called before the checkpoints; `discard` drops them on a rollback.
 * A projection that throws stops the runner (a bug must not skip events): the batch rolls back,
 * `run` fails with `ProjectionFailed`, and `waitFor` fails with it from then on.
 * On the SQLite store of its own connection, `run` also applies each group commit's appends
 * inside that commit's transaction (inline projection, as Marten and Emmett call it): the log and
 * the read models then move in one commit, and the subscription only catches what that missed.
 */
import { Cause, Chunk, Context, Data, Effect, Layer, Option, Queue, Stream } from "effect"
import type { Duration } from "effect"
import { callStreamPrefix } from "../domain/callEvents.js"
import { EventStore } from "../store/eventStore.js"
import type { EventFilter, EventStoreService, Position, RecordedEvent } from "../store/eventStore.js"
import { matchesFilter } from "../store/eventFilter.js"
import { nextEventLoopTurn } from "../store/eventLoop.js"
import { comparePositions, positionFromString, positionToString } from "../store/position.js"
import { LedgerDatabase, withMemoryMap } from "../store/sqlite/sqliteDatabase.js"
import { observeAppendTransactions } from "../store/sqlite/sqliteEventStore.js"
import type { AppendTransactionObserver } from "../store/sqlite/sqliteEventStore.js"
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
  /** `live` from the subscription or an inline batch, `catch-up` from `catchUp`, `rebuild` from `rebuild`. */
  readonly mode: "live" | "catch-up" | "rebuild"
}

export interface ProjectionRunnerOptions {
  /** Most events per live batch (one transaction). Default 1000. */
  readonly batchSize?: number | undefined
  /**
   * Longest a live batch waits to fill up. Default none: a live batch is what the subscription
   * read at once, so a write is applied as soon as it is seen.
   */
  readonly batchWindow?: Duration.DurationInput | undefined
  /**
   * Events per page, and per transaction, in `catchUp` and `rebuild`. Default 10 000. A store that
   * reads in process (`readAllNow`) is read inside the transaction 500 events at a time.
   */
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
   * of an event in a stream the runner follows (what `handleCallCommand` returns, or an endpoint write's).
   */
  readonly waitFor: (position: Position, timeout: Duration.DurationInput) => Effect.Effect<boolean, ProjectionFailed>
  /** Adds a listener called after each committed batch; returns its removal. A throwing listener is logged, not fatal. */
  readonly onBatch: (listener: (batch: BatchCommitted) => void) => () => void
  /**
   * Follows the log live, forever; fails only with `ProjectionFailed`. Run one at a time. Also
   * finishes a `rebuild` interrupted in this process (in a fiber of its own). While it runs on
   * the SQLite store of the runner's connection, appends of this process commit with their read
   * models (inline projection), so `waitFor` a command's position returns at once, unless the
   * runner is more than a batch behind or the runner failed.
   */
  readonly run: Effect.Effect<void, ProjectionFailed>
  /**
   * Applies everything the log holds now, in pages, and returns the position reached; first
   * finishes a `rebuild` interrupted in this process, if any.
   */
  readonly catchUp: Effect.Effect<Position | null, ProjectionFailed>
  /**
   * Resets the named read models (all when omitted) and their checkpoints, then replays the log
   * from zero in pages of `pageSize` events per transaction. A projection with `beginRebuild` /
   * `endRebuild` builds its indexes and derived tables once at the head instead of row by row.
   * The connection reads through a memory map until then (`withMemoryMap`). The event loop gets
   * a turn between pages (each page, ~0.2 s at 10 000 events, still holds it), so a serving
   * process goes on answering requests, and a running `run`
   * keeps feeding the other projections meanwhile and takes the rebuilt ones back once they
   * reach the head. Interrupted between pages, the rebuilt projections stay out of the live loop
   * (their checkpoints at the last page committed) until `run`, already running or started later,
   * or the next `catchUp` finishes their replay; a process that ends first finishes it on its next
   * start, from the checkpoints (each projection's constructor rebuilds what its `beginRebuild`
   * dropped, e.g. `ensureCallViewTables`).
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

/** The streams the runner follows: the union of its projections' prefixes (`call-` when a projection names none). */
const streamsOf = (handlers: ReadonlyArray<ProjectionHandler>): EventFilter => ({
  streamPrefixes: [...new Set(handlers.flatMap((h) => h.streamPrefixes ?? [callStreamPrefix]))]
})

type Checkpoints = Map<string, Position | null>

/** `items` in consecutive slices of at most `size`. */
const slicesOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  if (items.length <= size) return items.length === 0 ? [] : [items]
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Index of the first of `events` (in log order) after `checkpoint`; 0 without one. */
const firstAfter = (events: ReadonlyArray<RecordedEvent>, checkpoint: Position | null): number => {
  if (checkpoint === null) return 0
  let i = 0
  while (i < events.length && comparePositions(events[i]!.position, checkpoint) <= 0) i++
  return i
}

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
    const batchWindow = options.batchWindow
    const pageSize = options.pageSize ?? 10_000
    db.exec(checkpointSchema)
    const handlers: ReadonlyArray<ProjectionHandler> = projections.map((p) => p(db))
    const names = handlers.map((h) => h.name)
    const followed = streamsOf(handlers)
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

    const prefixesOf = new Map(handlers.map((h) => [h.name, h.streamPrefixes ?? [callStreamPrefix]]))
    const readsStream = (prefixes: ReadonlyArray<string>, streamId: string): boolean => {
      for (const prefix of prefixes) if (streamId.startsWith(prefix)) return true
      return false
    }

    // Checkpoints are read inside each transaction, so a second process on the same file
    // (a CLI next to the server) skips what the other already applied. A batch that throws, or
    // whose COMMIT fails, has each handler drop what it kept of it (`discard`).
    const inTransaction = <A extends ReadonlyArray<unknown>>(run: (selected: ReadonlyArray<ProjectionHandler>, ...args: A) => Checkpoints) => {
      const transaction = db.transaction(run)
      return {
        immediate: (selected: ReadonlyArray<ProjectionHandler>, ...args: A): Checkpoints => {
          try {
            return transaction.immediate(selected, ...args)
          } catch (error) {
            for (const handler of selected) handler.discard?.()
            throw error
          }
        }
      }
    }

    /**
     * Applies `events` (in log order) to each handler from its first event after its checkpoint in
     * `from`, marking in `applied` the handlers that got any. The start is found once per handler
     * and call, not compared per event and handler (a rebuild of 1M events spent 0.6 s in that loop).
     */
    const applyEach = (
      events: ReadonlyArray<RecordedEvent>,
      selected: ReadonlyArray<ProjectionHandler>,
      from: Checkpoints,
      applied: Array<boolean>
    ): void => {
      const starts = selected.map((h) => firstAfter(events, from.get(h.name) ?? null))
      const prefixes = selected.map((h) => prefixesOf.get(h.name)!)
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!
        for (let j = 0; j < selected.length; j++) {
          const handler = selected[j]!
          if (i < starts[j]! || !handler.eventTypes.has(event.type) || !readsStream(prefixes[j]!, event.streamId)) continue
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
      }
      starts.forEach((start, j) => {
        if (start < events.length) applied[j] = true
      })
    }

    /** Ends a batch: each handler writes what it kept (`flush`), and those that applied an event move their checkpoint to `last`. */
    const finishBatch = (
      selected: ReadonlyArray<ProjectionHandler>,
      checkpoints: Checkpoints,
      last: Position | undefined,
      applied: ReadonlyArray<boolean>
    ): Checkpoints => {
      for (const handler of selected) {
        try {
          handler.flush?.()
        } catch (cause) {
          throw new ProjectionFailed({ projection: handler.name, event: null, cause })
        }
      }
      selected.forEach((handler, j) => {
        if (last === undefined || !applied[j]) return
        checkpoints.set(handler.name, last)
        saveCheckpoint.run(handler.name, positionToString(last))
      })
      return checkpoints
    }

    /** Applies `events` (in log order) from `checkpoints` (read in this transaction) and ends the batch. */
    const applyFrom = (selected: ReadonlyArray<ProjectionHandler>, checkpoints: Checkpoints, events: ReadonlyArray<RecordedEvent>): Checkpoints => {
      const applied = selected.map(() => false)
      applyEach(events, selected, checkpoints, applied)
      return finishBatch(selected, checkpoints, events[events.length - 1]?.position, applied)
    }

    /** One batch read before its transaction: the live loop's, and every page on a store without `readAllNow`. */
    const applyBatch = inTransaction((selected, events: ReadonlyArray<RecordedEvent>) => applyFrom(selected, loadCheckpoints(), events))

    /** Events a page read inside its transaction reads at a time. */
    const chunkSize = 500

    /**
     * A page of `catchUp` or `rebuild` read inside its transaction, `chunkSize` events at a time,
     * each chunk applied as it is read: the page's parsed events die young instead of all staying
     * alive to its end (10 000 of them outlive V8's young generation, so scavenges copied them and
     * promoted most). Its events and last position go to `page`.
     */
    const applyStreamed = inTransaction((
      selected,
      page: { events: number; last: Position | undefined },
      readNow: NonNullable<EventStoreService["readAllNow"]>
    ) => {
      const checkpoints = loadCheckpoints()
      const applied = selected.map(() => false)
      let after = lowest(checkpoints, selected.map((h) => h.name)) ?? undefined
      let events = 0
      let last: Position | undefined
      while (events < pageSize) {
        const wanted = Math.min(chunkSize, pageSize - events)
        const chunk = readNow({ after, maxCount: wanted, filter: followed })
        if (chunk.length > 0) {
          applyEach(chunk, selected, checkpoints, applied)
          last = after = chunk[chunk.length - 1]!.position
          events += chunk.length
        }
        if (chunk.length < wanted) break
      }
      page.events = events
      page.last = last
      return finishBatch(selected, checkpoints, last, applied)
    })

    /**
     * The inline batch (see `makeInlineObserver`), inside the append's transaction: everything after the
     * lowest checkpoint of `selected`, when that is at most `batchSize` events; more, and it is
     * left to the live loop (a runner far behind, catching up, finds that out from the batch's
     * first position, without reading). When the checkpoints are right before the batch, as they
     * are while inline batches keep up, those events are the batch's own `appended` (filtered as
     * the subscription filters): in memory, not read back and parsed again (~4 % of a command's
     * CPU in process; bench/README.md, seventh session of 2026-12-05). Otherwise they are read
     * from the log as the subscription would read them. Its events and last position go to `page`.
     */
    const applyInline = (
      selected: ReadonlyArray<ProjectionHandler>,
      appended: ReadonlyArray<RecordedEvent>,
      page: { events: number; last: Position | undefined },
      readNow: NonNullable<EventStoreService["readAllNow"]>
    ): Checkpoints => {
      const checkpoints = loadCheckpoints()
      const after = lowest(checkpoints, selected.map((h) => h.name)) ?? undefined
      const behind = appended[0]!.position.commit - 1n - (after?.commit ?? 0n)
      if (behind > BigInt(batchSize)) return checkpoints
      const events = behind === 0n
        ? appended.filter((event) => matchesFilter(event, followed))
        : readNow({ after, maxCount: batchSize + 1, filter: followed })
      if (events.length === 0 || events.length > batchSize) return checkpoints
      page.events = events.length
      page.last = events[events.length - 1]!.position
      return applyFrom(selected, checkpoints, events)
    }

    let checkpoints = loadCheckpoints()
    let failure: ProjectionFailed | null = null
    const listeners = new Set<(batch: BatchCommitted) => void>()
    if (options.onBatch !== undefined) listeners.add(options.onBatch)
    const rebuildLock = yield* Effect.makeSemaphore(1)
    /** Projections being rebuilt: the live loop and `catchUp` leave them to `rebuild` until it releases them. */
    const rebuilding = new Set<string>()
    /** Last position the live loop or an inline batch committed (while leaving the rebuilding projections alone). */
    let liveLast: Position | null = null

    // The planner picks among the call view's many indexes by their statistics (sqlite_stat1);
    // `optimize` refreshes them only for tables never analysed or grown 25-fold since, so the
    // cost (about 2 s at a million calls) comes rarely. A sample of 100 000 rows per index keeps
    // low-cardinality columns (outcome, status) from looking as selective as a campaign.
    const analysisEvery = 100_000
    let eventsSinceAnalysis = 0
    const refreshPlannerStatistics = (events: number, force: boolean): void => {
      eventsSinceAnalysis += events
      if (!force && eventsSinceAnalysis < analysisEvery) return
      eventsSinceAnalysis = 0
      db.exec("PRAGMA analysis_limit = 100000; PRAGMA optimize = 0x10002;")
    }

    /** `waitFor` callers not yet satisfied; resumed by `publish`. */
    const waiters = new Set<{ readonly target: Position; readonly resume: (result: Effect.Effect<boolean, ProjectionFailed>) => void }>()
    const resumeWaiters = (position: Position | null): void => {
      for (const waiter of waiters) {
        if (failure !== null) waiter.resume(Effect.fail(failure))
        else if (position !== null && comparePositions(position, waiter.target) >= 0) waiter.resume(Effect.succeed(true))
        else continue
        waiters.delete(waiter)
      }
    }
    /** Resumes the `waitFor` callers the committed position satisfies (or fails them once the runner stopped). */
    const publish = Effect.sync(() => resumeWaiters(lowest(checkpoints, names)))
    const stop = (error: ProjectionFailed) =>
      Effect.suspend(() => {
        failure ??= error
        return publish
      }).pipe(Effect.zipRight(Effect.fail(error)))

    /** Runs a batch's transaction, synchronously; the failure to stop with, or null. */
    const commitNow = (transaction: () => Checkpoints): ProjectionFailed | null => {
      if (failure !== null) return failure
      try {
        checkpoints = transaction()
        return null
      } catch (error) {
        return error instanceof ProjectionFailed ? error : new ProjectionFailed({ projection: "*", event: null, cause: error })
      }
    }

    /** Applies a batch in one transaction, synchronously; the failure to stop with, or null. */
    const applyNow = (events: ReadonlyArray<RecordedEvent>, selected: ReadonlyArray<ProjectionHandler>): ProjectionFailed | null =>
      events.length === 0 && failure === null ? null : commitNow(() => applyBatch.immediate(selected, events))

    /**
     * Inline projection, while `run` runs on the SQLite store of this connection: the projections
     * apply each group commit's appends inside its own transaction (`observeAppendTransactions`),
     * so a write and its read models commit together, once, and read-your-writes holds as soon
     * as the append's caller resumes. The subscription still follows the log, for what other
     * processes append and for what was not applied inline (the runner behind by more than a
     * batch, or after an inline batch failed); it reads on after the checkpoints (`seen`) and the
     * live loop skips what they already passed. Without it a served report paid a second
     * transaction and commit, and a second read of its events (`npm run bench`, HTTP ingest).
     * One observer per `run`, so a run ending late cannot remove the next one's.
     */
    const makeInlineObserver = (): AppendTransactionObserver => {
      let batch: { readonly checkpoints: Checkpoints; readonly last: Position; readonly events: number } | null = null
      let selected: ReadonlyArray<ProjectionHandler> = []
      /** After a failed inline batch: none until the live loop has applied its first event. */
      let pausedBelow: Position | null = null
      return {
        // A throw rolls the appends back with it; the group commit runs them again without this
        // hook, and the live loop applies them (and stops there, if a projection's bug threw).
        beforeCommit: (appended) => {
          batch = null
          selected = []
          const readNow = store.readAllNow
          const first = appended[0]?.position
          if (first === undefined || failure !== null || readNow === undefined) return
          selected = liveHandlers()
          if (selected.length === 0) return
          if (pausedBelow !== null) {
            const reached = reachedBy(selected)
            if (reached === null || comparePositions(reached, pausedBelow) < 0) return
            pausedBelow = null
          }
          const page: { events: number; last: Position | undefined } = { events: 0, last: undefined }
          try {
            const applied = applyInline(selected, appended, page, readNow)
            if (page.last !== undefined) batch = { checkpoints: applied, last: page.last, events: page.events }
          } catch (error) {
            pausedBelow = first
            Effect.runFork(Effect.logWarning("projections: an inline batch failed; the live loop applies it", Cause.die(error)))
            throw error
          }
        },
        afterCommit: () => {
          const committed = batch
          batch = null
          selected = []
          if (committed === null) return
          checkpoints = committed.checkpoints
          liveLast = committed.last
          resumeWaiters(lowest(checkpoints, names))
          tellListeners({ position: committed.last, events: committed.events, mode: "live" })
          // After the callers and listeners heard of the batch, and outside the group commit's step.
          setImmediate(() => {
            try {
              refreshPlannerStatistics(committed.events, false)
            } catch (error) {
              Effect.runFork(Effect.logWarning("projections: refreshing planner statistics failed", Cause.die(error)))
            }
          })
        },
        afterRollback: () => {
          for (const handler of selected) handler.discard?.()
          batch = null
          selected = []
        }
      }
    }

    /** Calls each `onBatch` listener with a committed batch; one that throws is logged. */
    const tellListeners = (batch: BatchCommitted): void => {
      for (const listener of [...listeners]) {
        try {
          listener(batch)
        } catch (error) {
          Effect.runFork(Effect.logError("projections: onBatch listener failed", Cause.die(error)))
        }
      }
    }

    /** The projections the live loop, inline batches and `catchUp` feed: all but those being rebuilt. */
    const liveHandlers = (): ReadonlyArray<ProjectionHandler> => handlers.filter((h) => !rebuilding.has(h.name))

    /** The lowest checkpoint of `selected` (the live projections by default), by this process's view of them. */
    const reachedBy = (selected: ReadonlyArray<ProjectionHandler> = liveHandlers()): Position | null =>
      lowest(checkpoints, selected.map((h) => h.name))

    /** Whether every one of `selected` has applied the last of `events` (by this process's checkpoints). */
    const appliedBefore = (events: ReadonlyArray<RecordedEvent>, selected: ReadonlyArray<ProjectionHandler>): boolean => {
      const last = events[events.length - 1]
      const reached = reachedBy(selected)
      return last !== undefined && reached !== null && comparePositions(last.position, reached) <= 0
    }

    /** Publishes the new position and tells the listeners about a committed batch. */
    const announce = (last: Position | undefined, events: number, mode: BatchCommitted["mode"]): Effect.Effect<void> => {
      if (last === undefined) return Effect.void
      return publish.pipe(Effect.zipRight(Effect.sync(() => tellListeners({ position: last, events, mode }))))
    }

    const liveLoop: Effect.Effect<void, ProjectionFailed> = Effect.suspend(() => {
      const after = lowest(loadCheckpoints(), names) ?? undefined
      // Inline batches were applied with their appends: the subscription reads on after them.
      return store.subscribeToAll({ after, filter: followed, seen: () => reachedBy() }).pipe(
        Stream.filterMap((m) => (m._tag === "Event" ? Option.some(m.event) : Option.none())),
        // A batch is what the subscription read at once (all appended since its last read): a lone
        // write is applied at once, a burst in few transactions. A timed window made every write
        // wait for its timer (read-your-writes took milliseconds); it is used only when asked for.
        (events) => batchWindow === undefined ? events : Stream.flattenChunks(Stream.groupedWithin(events, batchSize, batchWindow)),
        Stream.runForEachChunk((chunk) =>
          Effect.forEach(slicesOf(Chunk.toReadonlyArray(chunk), batchSize), (events) =>
            Effect.suspend(() => {
              const selected = liveHandlers()
              // Applied inline already (or by another process this one saw commit): no transaction.
              if (failure === null && appliedBefore(events, selected)) return Effect.void
              const error = applyNow(events, selected)
              if (error !== null) return stop(error)
              liveLast = events[events.length - 1]?.position ?? liveLast
              refreshPlannerStatistics(events.length, false)
              return announce(events[events.length - 1]?.position, events.length, "live")
            }), { discard: true })
        )
      )
    }).pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause) || Option.isSome(Cause.failureOption(cause))
          ? Effect.void
          : stop(new ProjectionFailed({ projection: "*", event: null, cause: Cause.pretty(cause) })).pipe(Effect.ignore)
      )
    )

    /**
     * Pages through the log after the lowest checkpoint of `selected()`, one transaction per page,
     * until `done(pageLength)` says so (or fails); `done` runs synchronously right after the page's
     * commit, so no live batch can slip in between its check and what it does.
     */
    const replay = (
      selected: () => ReadonlyArray<ProjectionHandler>,
      mode: BatchCommitted["mode"],
      done: (pageLength: number) => boolean | ProjectionFailed
    ): Effect.Effect<number, ProjectionFailed> =>
      Effect.gen(function*() {
        let total = 0
        const readNow = store.readAllNow
        for (;;) {
          // Nothing selected (every projection is being rebuilt): the lowest checkpoint of none is
          // the start, and the first page would be read again and again, applied to no one.
          if (selected().length === 0) return total
          const events = readNow === undefined
            ? yield* store.readAll({ after: lowest(loadCheckpoints(), selected().map((h) => h.name)) ?? undefined, maxCount: pageSize, filter: followed })
            : undefined
          const finished = yield* Effect.suspend(() => {
            const handlers = selected()
            // Read before the transaction (`events`), or streamed inside it, which fills `page` in.
            const page = { events: events?.length ?? 0, last: events?.[events.length - 1]?.position }
            const error = events === undefined
              ? commitNow(() => applyStreamed.immediate(handlers, page, readNow!))
              : applyNow(events, handlers)
            if (error !== null) return stop(error)
            total += page.events
            const finished = done(page.events)
            if (finished instanceof ProjectionFailed) return stop(finished)
            // A rebuild's tables get their statistics once, at its end: analysed half-filled every
            // 100 000 events they cost ~0.4 s of a 1M-event rebuild, for plans no query used.
            if (mode !== "rebuild" || finished) refreshPlannerStatistics(page.events, finished)
            return announce(page.last, page.events, mode).pipe(Effect.as(finished))
          })
          if (finished) return total
          // Lets the event loop in between pages of a long rebuild: requests, the commands' group
          // commits and the live loop's batches. A page of an in-process store is read and applied
          // in one synchronous step, and `Effect.yieldNow` resumes on a microtask (Effect's scheduler
          // gives the event loop a turn only after 2,048 of them), so a rebuild in a serving process
          // held every request until its end.
          yield* nextEventLoopTurn
        }
      })

    // A plain waiter list rather than a subscription to `state.changes` per call: read-your-writes
    // runs on every write, and the subscription cost milliseconds.
    /** Resumes with the outcome once `target` is applied (or the runner failed); the check and the registration are one step. */
    const reached = (target: Position) =>
      Effect.async<boolean, ProjectionFailed>((resume) => {
        if (failure !== null) return resume(Effect.fail(failure))
        const position = lowest(checkpoints, names)
        if (position !== null && comparePositions(position, target) >= 0) return resume(Effect.succeed(true))
        const waiter = { target, resume }
        waiters.add(waiter)
        return Effect.sync(() => {
          waiters.delete(waiter)
        })
      })

    // The position is checked again where the waiter registers: under `timeoutTo` the wait runs in
    // a fiber of its own, which may start after a batch committed, and a check made before it
    // would miss that batch's wake-up and sit out the whole timeout.
    const waitFor = (target: Position, timeout: Duration.DurationInput): Effect.Effect<boolean, ProjectionFailed> =>
      Effect.suspend(() => {
        if (failure !== null) return Effect.fail(failure)
        const position = lowest(checkpoints, names)
        if (position !== null && comparePositions(position, target) >= 0) return Effect.succeed(true)
        return reached(target).pipe(Effect.timeoutTo({ duration: timeout, onSuccess: (ok) => ok, onTimeout: () => false }))
      })

    /**
     * Lets each rebuilt projection build what it left to the end (`endRebuild`), one transaction
     * each; the first failure, or null.
     */
    const endRebuildNow = (selected: ReadonlyArray<ProjectionHandler>): ProjectionFailed | null => {
      for (const handler of selected) {
        if (handler.endRebuild === undefined) continue
        try {
          db.transaction(handler.endRebuild).immediate()
        } catch (cause) {
          return new ProjectionFailed({ projection: handler.name, event: null, cause })
        }
      }
      return null
    }

    /**
     * Whether a rebuild was interrupted between pages since the last finish: its projections are
     * still in `rebuilding`, their checkpoints at the last page committed. Outside the rebuild lock
     * every projection there is such a one, so the flag is all `finishInterruptedRebuilds` needs.
     */
    let rebuildInterrupted = false
    /** Offered to when a rebuild is interrupted; the live loop (`run`) takes it and finishes the rebuild. */
    const rebuildsToFinish = yield* Queue.sliding<void>(1)

    /**
     * Replays the log into `selected` (reset and being rebuilt) from their checkpoints to the head,
     * through a memory map. At the head, in the same synchronous step as the last page's commit,
     * they build what they left to the end and go back to the live loop, so no live batch finds
     * them half-finished. Interrupted between pages, they stay out of the live loop
     * (`underRebuildLock` queues them); a failure stops the runner instead.
     */
    const replayRebuild = (selected: ReadonlyArray<ProjectionHandler>): Effect.Effect<number, ProjectionFailed> => {
      const selectedNames = selected.map((h) => h.name)
      return withMemoryMap(db, replay(() => selected, "rebuild", (pageLength) => {
        // Released once at the head and past every event the live loop applied without them:
        // the live loop's later batches hold only events after that.
        const reached = lowest(checkpoints, selectedNames)
        const release = pageLength < pageSize &&
          (liveLast === null || (reached !== null && comparePositions(reached, liveLast) >= 0))
        if (!release) return false
        const failed = endRebuildNow(selected)
        if (failed !== null) return failed
        for (const name of selectedNames) rebuilding.delete(name)
        return true
      }))
    }

    /**
     * Runs `effect` holding the rebuild lock; interrupted with projections still out of the live
     * loop, it leaves them to `finishInterruptedRebuilds`.
     */
    const underRebuildLock = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      rebuildLock.withPermits(1)(effect.pipe(
        Effect.onInterrupt(() =>
          Effect.suspend(() => {
            if (rebuilding.size === 0) return Effect.void
            rebuildInterrupted = true
            return Queue.offer(rebuildsToFinish, undefined)
          })
        )
      ))

    /**
     * Finishes the rebuilds interrupted earlier in this process, if any (see `replayRebuild`).
     * Without any, it returns at once rather than wait for a rebuild under way.
     */
    const finishInterruptedRebuilds: Effect.Effect<void, ProjectionFailed> = Effect.suspend(() =>
      !rebuildInterrupted ? Effect.void : underRebuildLock(Effect.suspend(() => {
        rebuildInterrupted = false
        const selected = handlers.filter((h) => rebuilding.has(h.name))
        return selected.length === 0 ? Effect.void : Effect.asVoid(replayRebuild(selected))
      }))
    )

    /** The live loop, with a fiber beside it that finishes interrupted rebuilds; they end together. */
    const run: Effect.Effect<void, ProjectionFailed> = Effect.gen(function*() {
      // A failure there has already stopped the runner (`stop`); the live loop fails at its next batch.
      yield* Effect.fork(Effect.forever(Queue.take(rebuildsToFinish).pipe(Effect.zipRight(Effect.ignore(finishInterruptedRebuilds)))))
      return yield* liveLoop
    }).pipe((live) =>
      Effect.acquireUseRelease(
        Effect.sync(() => observeAppendTransactions(store, db, makeInlineObserver())),
        () => live,
        (remove) => Effect.sync(() => remove?.())
      ))

    /**
     * A rebuild's first transaction: each of `selected` reset (told its checkpoint) and its
     * checkpoint dropped; the checkpoints after. Rolled back, each drops what it kept (`discard`).
     */
    const resetForRebuild = inTransaction((selected) => {
      const stored = loadCheckpoints()
      for (const handler of selected) {
        handler.reset(stored.get(handler.name) ?? null)
        handler.beginRebuild?.()
        deleteCheckpoint.run(handler.name)
      }
      return loadCheckpoints()
    })

    const rebuild = (only?: ReadonlyArray<string>): Effect.Effect<RebuildResult, ProjectionFailed | UnknownProjection> =>
      Effect.gen(function*() {
        const unknown = (only ?? []).filter((n) => !names.includes(n))
        if (unknown.length > 0) return yield* Effect.fail(new UnknownProjection({ names: unknown }))
        const selected = only === undefined ? handlers : handlers.filter((h) => only.includes(h.name))
        yield* Effect.suspend(() => {
          if (failure !== null) return Effect.fail(failure)
          checkpoints = resetForRebuild.immediate(selected)
          for (const handler of selected) rebuilding.add(handler.name)
          return publish
        })
        const events = yield* replayRebuild(selected)
        return { projections: selected.map((h) => h.name), events, position: lowest(checkpoints, selected.map((h) => h.name)) }
      }).pipe(underRebuildLock)

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
      catchUp: finishInterruptedRebuilds.pipe(
        Effect.zipRight(replay(liveHandlers, "catch-up", (n) => n < pageSize)),
        Effect.map(() => lowest(checkpoints, names))
      ),
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

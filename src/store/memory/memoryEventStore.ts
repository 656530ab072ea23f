/**
 * In-memory `EventStore` adapter, for tests and embedding without persistence. Same semantics as
 * the SQLite and EventStoreDB adapters (the contract suite checks all three); nothing survives the process.
 */
import { Effect, Either, Layer } from "effect"
import { makeAppendSignal } from "../appendSignal.js"
import { catchUpSubscription } from "../catchUpSubscription.js"
import { EventStore, StreamDeleted, WrongExpectedRevision } from "../eventStore.js"
import type {
  AppendResult, EventFilter, EventStoreService, EventToAppend, ExpectedRevision, Position, ReadAllOptions, RecordedEvent
} from "../eventStore.js"
import { checkExpectedRevision } from "../expectedRevision.js"
import { comparePositions, sequencePosition } from "../position.js"
import { matchesFilter } from "../eventFilter.js"

interface StreamEntry {
  /** Revision of the last event ever appended, -1 when none. */
  lastRevision: bigint
  /** Events before this revision are soft-deleted. */
  truncateBefore: bigint
  tombstoned: boolean
  readonly events: Array<RecordedEvent>
}


/** Builds a fresh, empty in-memory store. */
export const makeMemoryEventStore = (): EventStoreService => {
  const all: Array<RecordedEvent> = []
  const streams = new Map<string, StreamEntry>()
  // Keyed by stream and event id: like EventStoreDB, idempotency is judged within one stream.
  const byEventId = new Map<string, RecordedEvent>()
  const eventKey = (streamId: string, eventId: string): string => `${streamId}\u0000${eventId}`
  const signal = makeAppendSignal()

  const visibleLast = (entry: StreamEntry | undefined): bigint | null =>
    entry === undefined || entry.lastRevision < entry.truncateBefore ? null : entry.lastRevision

  const appendNow = (
    streamId: string,
    events: ReadonlyArray<EventToAppend>,
    expected: ExpectedRevision
  ): AppendResult | WrongExpectedRevision | StreamDeleted => {
    const entry = streams.get(streamId)
    if (entry?.tombstoned) return new StreamDeleted({ streamId })
    const first = events[0]
    const earlier = first === undefined ? undefined : byEventId.get(eventKey(streamId, first.eventId))
    if (earlier !== undefined) {
      const last = byEventId.get(eventKey(streamId, events[events.length - 1]!.eventId)) ?? earlier
      return { nextExpectedRevision: last.revision, position: last.position }
    }
    const error = checkExpectedRevision(streamId, expected, visibleLast(entry))
    if (error !== null) return error
    const stream = entry ?? { lastRevision: -1n, truncateBefore: 0n, tombstoned: false, events: [] }
    streams.set(streamId, stream)
    if (events.length === 0) {
      const lastEvent = stream.events[stream.events.length - 1]
      return { nextExpectedRevision: stream.lastRevision, position: lastEvent?.position ?? sequencePosition(0) }
    }
    for (const e of events) {
      stream.lastRevision += 1n
      const recorded: RecordedEvent = {
        eventId: e.eventId,
        streamId,
        revision: stream.lastRevision,
        position: sequencePosition(all.length + 1),
        type: e.type,
        data: structuredClone(e.data),
        metadata: e.metadata
      }
      all.push(recorded)
      stream.events.push(recorded)
      byEventId.set(eventKey(streamId, e.eventId), recorded)
    }
    signal.notify()
    return { nextExpectedRevision: stream.lastRevision, position: all[all.length - 1]!.position }
  }

  const readAllNow = (after: Position | undefined, maxCount: number, filter: EventFilter | undefined) => {
    const start = after === undefined ? 0 : Number(after.commit)
    const out: Array<RecordedEvent> = []
    for (let i = start; i < all.length && out.length < maxCount; i++) {
      const event = all[i]!
      const stream = streams.get(event.streamId)!
      if (stream.tombstoned || event.revision < stream.truncateBefore) continue
      if (after !== undefined && comparePositions(event.position, after) <= 0) continue
      if (matchesFilter(event, filter)) out.push(event)
    }
    return out
  }

  const remove = (hard: boolean) => (streamId: string, expected: ExpectedRevision) =>
    Effect.suspend((): Effect.Effect<void, WrongExpectedRevision | StreamDeleted> => {
      const entry = streams.get(streamId)
      if (entry?.tombstoned) return Effect.fail(new StreamDeleted({ streamId }))
      const error = checkExpectedRevision(streamId, expected, visibleLast(entry))
      if (error !== null) return Effect.fail(error)
      const stream = entry ?? { lastRevision: -1n, truncateBefore: 0n, tombstoned: false, events: [] }
      streams.set(streamId, stream)
      if (hard) stream.tombstoned = true
      else stream.truncateBefore = stream.lastRevision + 1n
      return Effect.void
    })

  const isRefusal = (result: AppendResult | WrongExpectedRevision | StreamDeleted): result is WrongExpectedRevision | StreamDeleted =>
    result instanceof WrongExpectedRevision || result instanceof StreamDeleted

  /** `readAll` and `readAllNow` of the port: one page, read now. */
  const readAllPage = (options?: ReadAllOptions): Array<RecordedEvent> =>
    readAllNow(options?.after, options?.maxCount ?? Number.MAX_SAFE_INTEGER, options?.filter)

  return {
    appendToStream: (streamId, events, expected) =>
      Effect.suspend(() => {
        const result = appendNow(streamId, events, expected)
        return isRefusal(result) ? Effect.fail(result) : Effect.succeed(result)
      }),
    appendMany: (appends) =>
      Effect.sync(() =>
        appends.map((a) => {
          const result = appendNow(a.streamId, a.events, a.expectedRevision)
          return isRefusal(result) ? Either.left(result) : Either.right(result)
        })
      ),
    readStream: (streamId, options) =>
      Effect.suspend(() => {
        const entry = streams.get(streamId)
        if (entry === undefined) return Effect.succeed([])
        if (entry.tombstoned) return Effect.fail(new StreamDeleted({ streamId }))
        const from = options?.fromRevision ?? 0n
        const events = entry.events.filter((e) => e.revision >= from && e.revision >= entry.truncateBefore)
        return Effect.succeed(options?.maxCount === undefined ? events : events.slice(0, options.maxCount))
      }),
    readAll: (options) => Effect.sync(() => readAllPage(options)),
    readAllNow: readAllPage,
    headPosition: Effect.sync(() => all[all.length - 1]?.position ?? null),
    subscribeToAll: (options) =>
      catchUpSubscription({
        readAll: (after, maxCount, filter) => Effect.sync(() => readAllNow(after, maxCount, filter)),
        signal,
        pollIntervalMillis: 1_000,
        pageSize: 1_000
      }, options),
    deleteStream: remove(false),
    tombstoneStream: remove(true)
  }
}

/** Layer providing a fresh in-memory `EventStore`. */
export const MemoryEventStoreLive: Layer.Layer<EventStore> = Layer.sync(EventStore, makeMemoryEventStore)

/**
 * SQLite `EventStore` adapter, the embedded default: the log lives in the ledger's SQLite file
 * (tables in `sqliteEventTables.ts`) next to the read models. Same semantics as the memory and
 * EventStoreDB adapters, checked by the contract suite: 0-based revisions, one global INTEGER
 * position sequence, exact expected-revision checks, idempotent re-append of the same event ids,
 * soft delete and tombstone, `$all` reads and catch-up subscriptions.
 * Writes go through group commit (`groupCommit.ts`); a committed append survives SIGKILL (WAL).
 */
import { Cause, Effect, Either, Layer } from "effect"
import type { Statement } from "better-sqlite3"
import { makeAppendSignal } from "../appendSignal.js"
import { catchUpSubscription } from "../catchUpSubscription.js"
import { EventStore, StreamDeleted, WrongExpectedRevision } from "../eventStore.js"
import type {
  AppendResult, EventFilter, EventMetadata, EventStoreService, EventToAppend, ExpectedRevision, Position, ReadAllOptions, RecordedEvent,
  StreamAppendOutcome
} from "../eventStore.js"
import { checkExpectedRevision } from "../expectedRevision.js"
import { sequencePosition } from "../position.js"
import { makeGroupCommit } from "./groupCommit.js"
import { LedgerDatabase } from "./sqliteDatabase.js"
import type { SqliteDatabase } from "./sqliteDatabase.js"
import { ensureEventTables } from "./sqliteEventTables.js"

export interface SqliteEventStoreOptions {
  /**
   * How often, in milliseconds, an idle subscription reads again without an append signal: the
   * delay before it sees appends made by another process on the same file. Default 500.
   */
  readonly pollIntervalMillis?: number
  /** Events per `$all` page a subscription reads. Default 1000. */
  readonly pageSize?: number
}

/** What an append or read needs to know of a stream: its last revision and its deletion, if any. */
interface StreamRow {
  /** Revision of its last event, deleted or not; null when it has none. */
  readonly last_revision: number | null
  /** Revisions below it were soft-deleted; 0 when nothing was. */
  readonly truncate_before: number
  readonly tombstoned: number
}

/**
 * A row of `eventColumns`, read as an array (`.raw()`): no object per row to build and collect
 * (reading and decoding 1M events in pages of 10 000: 5.7-6.1 s instead of 6.1-6.3 s).
 */
type EventRow = readonly [
  position: number, eventId: string, streamId: string, revision: number, type: string, data: string, metadata: string
]

/** An event to append with its `data` and `metadata` as the JSON text stored. */
interface EncodedEvent {
  /** The event as appended, also handed to the observers of the transaction it is stored in. */
  readonly source: EventToAppend
  readonly data: string
  readonly metadata: string
}

const eventColumns = "e.position, e.event_id, e.stream_id, e.revision, e.type, e.data, e.metadata"

// `LIMIT CAST(? AS INTEGER)` rather than `LIMIT ?` in every statement of the ledger: better-sqlite3
// builds SQLite with STAT4, under which a bare LIMIT parameter makes SQLite prepare the statement
// again at every bind (sqlite.org/c3ref/prepare.html, "host parameter ... might influence the choice
// of query plan"); that cost 20-70 µs per read of the log's tail, more than the read itself.

const toRecorded = (row: EventRow): RecordedEvent => ({
  eventId: row[1],
  streamId: row[2],
  revision: BigInt(row[3]),
  position: sequencePosition(row[0]),
  type: row[4],
  data: JSON.parse(row[5]) as unknown,
  metadata: JSON.parse(row[6]) as EventMetadata
})

const encode = (event: EventToAppend): EncodedEvent => ({
  source: event,
  data: JSON.stringify(event.data) ?? "null",
  metadata: JSON.stringify(event.metadata)
})

/** Page cache the log wants, in KiB (64 MiB). */
const pageCacheKib = 65_536

/**
 * The log's indexes are keyed by random ids (event UUIDs, call ids), so inserts touch pages all
 * over the B-trees; SQLite's default 2 MiB cache makes appends several times slower. Only raises it.
 */
const ensurePageCache = (db: SqliteDatabase): void => {
  const current = Number(db.pragma("cache_size", { simple: true }))
  const pageSize = Number(db.pragma("page_size", { simple: true }))
  const currentKib = current < 0 ? -current : (current * pageSize) / 1024
  if (currentKib < pageCacheKib) db.pragma(`cache_size = -${pageCacheKib}`)
}

/**
 * Work that runs inside the log's own write transactions: see `observeAppendTransactions`. A throw
 * from `beforeCommit` rolls the batch back, and its writes run again without the observers; one
 * from the other two is logged.
 */
export interface AppendTransactionObserver {
  /**
   * Inside each group-commit transaction, after its appends and before COMMIT, with the events
   * they stored, in position order (none when they stored none), of every stream, system ones
   * included, and unfiltered: `data` and `metadata` are the objects appended, not parsed again
   * from their JSON, so they equal what a `$all` read returns only for plain JSON data (see
   * `EventToAppend`); the ledger appends nothing else. Positions are this store's
   * sequence numbers, one per event: `first.commit - 1n - p.commit` events lie between a
   * position `p` and the batch's first.
   */
  readonly beforeCommit: (appended: ReadonlyArray<RecordedEvent>) => void
  /** The transaction committed; runs before the appends' callers resume. */
  readonly afterCommit: () => void
  /** The transaction rolled back after `beforeCommit` ran (it threw, or COMMIT failed). */
  readonly afterRollback: () => void
}

/** The observers of each SQLite store, with the connection it writes through. */
const observersOf = new WeakMap<EventStoreService, { readonly db: SqliteDatabase; readonly observers: Set<AppendTransactionObserver> }>()

/**
 * Adds `observer` to the write transactions of `store` when it is this module's SQLite store on
 * the connection `db` (the read models' connection), so work on that connection can commit with
 * the appends themselves (inline projections); returns its removal. Undefined for any other
 * store (memory, EventStoreDB, another file or connection): nothing can share their transactions.
 */
export const observeAppendTransactions = (
  store: EventStoreService,
  db: SqliteDatabase,
  observer: AppendTransactionObserver
): (() => void) | undefined => {
  const entry = observersOf.get(store)
  if (entry === undefined || entry.db !== db) return undefined
  entry.observers.add(observer)
  return () => {
    entry.observers.delete(observer)
  }
}

const afterTransaction = (hook: () => void): void => {
  try {
    hook()
  } catch (error) {
    Effect.runFork(Effect.logError("an observer of the log's transactions failed", Cause.die(error)))
  }
}

const isFailure = <A>(value: A | WrongExpectedRevision | StreamDeleted): value is WrongExpectedRevision | StreamDeleted =>
  value instanceof WrongExpectedRevision || value instanceof StreamDeleted

/**
 * Builds the adapter over an open connection (see `openSqliteDatabase`), creating its tables if
 * missing. Infrastructure failures (disk full, a lock held past the busy timeout) are defects.
 */
export const makeSqliteEventStore = (db: SqliteDatabase, options: SqliteEventStoreOptions = {}): EventStoreService => {
  ensureEventTables(db)
  ensurePageCache(db)
  const signal = makeAppendSignal()
  const observers = new Set<AppendTransactionObserver>()
  /** The events the running batch attempt stored, kept only while someone observes the transactions. */
  let appendedInBatch: Array<RecordedEvent> = []
  const groupCommit = makeGroupCommit(db, {
    beforeWrites: () => {
      appendedInBatch = []
    },
    beforeCommit: () => {
      for (const observer of observers) observer.beforeCommit(appendedInBatch)
    },
    // After the commit, an observer's bug must not keep the appends' callers waiting: it is logged.
    afterCommit: () => {
      for (const observer of observers) afterTransaction(() => observer.afterCommit())
      signal.notify()
    },
    afterRollback: () => {
      for (const observer of observers) afterTransaction(() => observer.afterRollback())
    }
  })

  const selectStreamRow = db.prepare<[string, string], StreamRow>(
    `SELECT (SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1) AS last_revision,
            coalesce(s.truncate_before, 0) AS truncate_before, coalesce(s.tombstoned, 0) AS tombstoned
     FROM (SELECT 1) LEFT JOIN streams s ON s.stream_id = ?`
  )
  const selectStream = (streamId: string): StreamRow => selectStreamRow.get(streamId, streamId)!
  // Through the stream's `(stream_id, revision)` index: event ids have none (sqliteEventTables.ts).
  const selectEventById = db.prepare<[string, string], { position: number; revision: number }>(
    "SELECT position, revision FROM events WHERE stream_id = ? AND event_id = ?"
  )
  const selectPositionAt = db.prepare<[string, number], { position: number }>(
    "SELECT position FROM events WHERE stream_id = ? AND revision = ?"
  )
  const insertEvent = db.prepare<[string, string, number, string, string, string]>(
    "INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)"
  )
  const softDelete = db.prepare<[string, number, number]>(
    `INSERT INTO streams (stream_id, last_revision, truncate_before) VALUES (?, ?, ?)
     ON CONFLICT (stream_id) DO UPDATE SET last_revision = excluded.last_revision, truncate_before = excluded.truncate_before`
  )
  const tombstone = db.prepare<[string]>(
    `INSERT INTO streams (stream_id, last_revision, tombstoned) VALUES (?, -1, 1)
     ON CONFLICT (stream_id) DO UPDATE SET tombstoned = 1`
  )
  const selectStreamEvents = db.prepare<[string, number, number], EventRow>(
    `SELECT ${eventColumns} FROM events e WHERE e.stream_id = ? AND e.revision >= ? ORDER BY e.revision LIMIT CAST(? AS INTEGER)`
  ).raw()
  const selectHead = db.prepare<[], { position: number | null }>("SELECT max(position) AS position FROM events")

  // One statement per filter shape (how many prefixes, how many types), prepared on first use.
  const readAllStatements = new Map<string, Statement<Array<string | number>, EventRow>>()
  const readAllStatement = (filter: EventFilter | undefined) => {
    const prefixes = filter?.streamPrefixes?.length ?? -1
    const types = filter?.eventTypes?.length ?? -1
    const key = `${prefixes}:${types}`
    let statement = readAllStatements.get(key)
    if (statement === undefined) {
      const clauses = [
        "e.position > ?",
        "(s.stream_id IS NULL OR (s.tombstoned = 0 AND e.revision >= s.truncate_before))",
        "substr(e.stream_id, 1, 1) <> '$'",
        "substr(e.type, 1, 1) <> '$'"
      ]
      if (prefixes >= 0) {
        clauses.push(prefixes === 0 ? "0" : `(${Array.from({ length: prefixes }, () => "instr(e.stream_id, ?) = 1").join(" OR ")})`)
      }
      if (types >= 0) clauses.push(types === 0 ? "0" : `e.type IN (${Array.from({ length: types }, () => "?").join(", ")})`)
      statement = db.prepare<Array<string | number>, EventRow>(
        `SELECT ${eventColumns} FROM events e LEFT JOIN streams s ON s.stream_id = e.stream_id
         WHERE ${clauses.join(" AND ")} ORDER BY e.position LIMIT CAST(? AS INTEGER)`
      ).raw()
      readAllStatements.set(key, statement)
    }
    return statement
  }

  // Row by row rather than `all().map(...)`: a page's raw rows are garbage as soon as each is
  // parsed, so they are not copied and promoted by the scavenges of a long page (a rebuild of
  // 1M events promoted 1.8 GB with the whole raw page alive, 1.1 GB without).
  const readAllNow = (after: Position | undefined, maxCount: number, filter: EventFilter | undefined) => {
    const events: Array<RecordedEvent> = []
    const rows = readAllStatement(filter).iterate(
      after === undefined ? 0 : Number(after.commit),
      ...(filter?.streamPrefixes ?? []),
      ...(filter?.eventTypes ?? []),
      maxCount
    )
    for (const row of rows) events.push(toRecorded(row))
    return events
  }

  const visibleLast = (stream: StreamRow): bigint | null =>
    stream.last_revision === null || stream.last_revision < stream.truncate_before ? null : BigInt(stream.last_revision)

  /** The earlier append of these event ids to this stream, as its result; undefined when they were never appended. */
  const earlierAppend = (streamId: string, events: ReadonlyArray<EncodedEvent>): AppendResult | undefined => {
    const first = events[0]
    const earlier = first === undefined ? undefined : selectEventById.get(streamId, first.source.eventId)
    if (earlier === undefined) return undefined
    const last = selectEventById.get(streamId, events[events.length - 1]!.source.eventId) ?? earlier
    return { nextExpectedRevision: BigInt(last.revision), position: sequencePosition(last.position) }
  }

  /**
   * One append, inside the batch transaction: checks first, then writes. Re-appended event ids are
   * looked up only when the expected revision does not hold (a retry of a stored append states
   * the revision it was stored after) or cannot tell (`any`, `stream_exists`, a deleted stream):
   * an append at the exact revision it expects is new, so the common path reads one index entry.
   */
  const appendNow = (
    streamId: string,
    events: ReadonlyArray<EncodedEvent>,
    expected: ExpectedRevision
  ): AppendResult | WrongExpectedRevision | StreamDeleted => {
    const stream = selectStream(streamId)
    if (stream.tombstoned !== 0) return new StreamDeleted({ streamId })
    const error = checkExpectedRevision(streamId, expected, visibleLast(stream))
    const exact = typeof expected === "bigint" || (expected === "no_stream" && stream.last_revision === null)
    if (error !== null || !exact) {
      const earlier = earlierAppend(streamId, events)
      if (earlier !== undefined) return earlier
      if (error !== null) return error
    }
    let revision = stream.last_revision ?? -1
    if (events.length === 0) {
      const position = revision < 0 ? 0 : selectPositionAt.get(streamId, revision)?.position ?? 0
      return { nextExpectedRevision: BigInt(revision), position: sequencePosition(position) }
    }
    let position = 0
    const observed = observers.size > 0
    for (const { source, data, metadata } of events) {
      revision += 1
      position = Number(insertEvent.run(source.eventId, streamId, revision, source.type, data, metadata).lastInsertRowid)
      if (observed) {
        appendedInBatch.push({
          eventId: source.eventId, streamId, revision: BigInt(revision), position: sequencePosition(position), type: source.type,
          data: source.data === undefined ? null : source.data, metadata: source.metadata
        })
      }
    }
    return { nextExpectedRevision: BigInt(revision), position: sequencePosition(position) }
  }

  const removeNow = (streamId: string, expected: ExpectedRevision, hard: boolean): void | WrongExpectedRevision | StreamDeleted => {
    const stream = selectStream(streamId)
    if (stream.tombstoned !== 0) return new StreamDeleted({ streamId })
    const error = checkExpectedRevision(streamId, expected, visibleLast(stream))
    if (error !== null) return error
    if (hard) tombstone.run(streamId)
    else softDelete.run(streamId, stream.last_revision ?? -1, (stream.last_revision ?? -1) + 1)
  }

  const write = <A>(run: () => A | WrongExpectedRevision | StreamDeleted): Effect.Effect<A, WrongExpectedRevision | StreamDeleted> =>
    groupCommit.submit<A, WrongExpectedRevision | StreamDeleted>(run, isFailure)

  const remove = (hard: boolean) => (streamId: string, expected: ExpectedRevision) =>
    write<void>(() => removeNow(streamId, expected, hard))

  /** `readAll` and `readAllNow` of the port: one page, read now. */
  const readAllPage = (options?: ReadAllOptions): Array<RecordedEvent> =>
    readAllNow(options?.after, options?.maxCount ?? -1, options?.filter)

  const service: EventStoreService = {
    appendToStream: (streamId, events, expected) =>
      Effect.suspend(() => {
        const encoded = events.map(encode)
        return write(() => appendNow(streamId, encoded, expected))
      }),
    appendMany: (appends) =>
      Effect.suspend(() => {
        const encoded = appends.map((a) => a.events.map(encode))
        return groupCommit.submit(() =>
          appends.map((a, i): StreamAppendOutcome => {
            const result = appendNow(a.streamId, encoded[i]!, a.expectedRevision)
            return isFailure(result) ? Either.left(result) : Either.right(result)
          })
        )
      }),
    readStream: (streamId, options) =>
      Effect.suspend(() => {
        const stream = selectStream(streamId)
        if (stream.tombstoned !== 0) return Effect.fail(new StreamDeleted({ streamId }))
        if (stream.last_revision === null) return Effect.succeed([])
        const from = Math.max(Number(options?.fromRevision ?? 0n), stream.truncate_before)
        return Effect.succeed(selectStreamEvents.all(streamId, from, options?.maxCount ?? -1).map(toRecorded))
      }),
    readAll: (options) => Effect.sync(() => readAllPage(options)),
    readAllNow: readAllPage,
    headPosition: Effect.sync(() => {
      const head = selectHead.get()?.position ?? null
      return head === null ? null : sequencePosition(head)
    }),
    subscribeToAll: (subscription) =>
      catchUpSubscription({
        readAll: (after, maxCount, filter) => Effect.sync(() => readAllNow(after, maxCount, filter)),
        signal,
        pollIntervalMillis: options.pollIntervalMillis ?? 500,
        pageSize: options.pageSize ?? 1_000
      }, subscription),
    deleteStream: remove(false),
    tombstoneStream: remove(true)
  }
  observersOf.set(service, { db, observers })
  return service
}

/** The SQLite `EventStore` over the shared `LedgerDatabase` connection, with options (e.g. a shorter poll interval for several processes on one file). */
export const sqliteEventStoreLayer = (options: SqliteEventStoreOptions): Layer.Layer<EventStore, never, LedgerDatabase> =>
  Layer.effect(EventStore, Effect.map(LedgerDatabase, (db) => makeSqliteEventStore(db, options)))

/** The SQLite `EventStore` over the shared `LedgerDatabase` connection (read models live in the same file). */
export const SqliteEventStoreLive: Layer.Layer<EventStore, never, LedgerDatabase> = sqliteEventStoreLayer({})

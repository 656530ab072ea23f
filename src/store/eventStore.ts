/**
 * The `EventStore` port: an append-only log of streams, read per stream or as one global `$all`
 * sequence, with catch-up subscriptions. Terms and semantics follow EventStoreDB (KurrentDB):
 * revisions are 0-based per stream, positions are global and totally ordered, an append states
 * the revision it expects, and re-appending events with the same ids is idempotent.
 */
import { Context, Data, Effect } from "effect"
import type { Either, Stream } from "effect"

/** Event metadata the ledger writes with every event (DESIGN.md, "Streams and events"). */
export interface EventMetadata {
  readonly schemaVersion: number
  /** The command that produced the event; also the seed of its deterministic id. */
  readonly commandId: string
  readonly correlationId: string
  readonly causationId: string | null
  /** ISO-8601: when it happened at the source. */
  readonly occurredAt: string
  /** ISO-8601: when the ledger took it. */
  readonly recordedAt: string
}

/**
 * An event to append. `eventId` is a UUID; the same id appended again is not stored twice.
 * `data` is plain JSON (no `Date`, `NaN` or `undefined` values that JSON would change), and is
 * not changed after the append: the SQLite store hands these very objects to the projections it
 * runs inside its transactions (`observeAppendTransactions`).
 */
export interface EventToAppend {
  readonly eventId: string
  readonly type: string
  readonly data: unknown
  readonly metadata: EventMetadata
}

/**
 * A place in `$all`. EventStoreDB positions are a pair of commit and prepare positions in its
 * transaction log; the embedded stores use one sequence number for both.
 */
export interface Position {
  readonly commit: bigint
  readonly prepare: bigint
}

/** An event as stored. */
export interface RecordedEvent {
  readonly eventId: string
  readonly streamId: string
  /** 0-based revision in its stream. */
  readonly revision: bigint
  readonly position: Position
  readonly type: string
  readonly data: unknown
  readonly metadata: EventMetadata
}

/**
 * What an append expects of the stream (EventStoreDB's `expectedRevision`):
 * `no_stream` (must not exist), `stream_exists` (must exist), `any` (no check), or the exact
 * revision of its last event.
 */
export type ExpectedRevision = "any" | "no_stream" | "stream_exists" | bigint

export interface AppendResult {
  /** Revision of the last event of the stream after the append: the next append expects it. */
  readonly nextExpectedRevision: bigint
  /** Position of the last appended event. */
  readonly position: Position
}

/** One append of `appendMany`. */
export interface StreamAppend {
  readonly streamId: string
  readonly events: ReadonlyArray<EventToAppend>
  readonly expectedRevision: ExpectedRevision
}

/** The outcome of one append of `appendMany`: its result, or why it was refused. */
export type StreamAppendOutcome = Either.Either<AppendResult, WrongExpectedRevision | StreamDeleted>

/** Which events of `$all` a read or subscription wants; system events (`$`-prefixed) never come. */
export interface EventFilter {
  readonly streamPrefixes?: ReadonlyArray<string>
  readonly eventTypes?: ReadonlyArray<string>
}

/** The stream does not stand at the expected revision; `actual` is `no_stream` when it does not exist. */
export class WrongExpectedRevision extends Data.TaggedError("WrongExpectedRevision")<{
  readonly streamId: string
  readonly expected: ExpectedRevision
  readonly actual: bigint | "no_stream"
}> {}

/** The stream was tombstoned (hard-deleted) and can never be written or read again. */
export class StreamDeleted extends Data.TaggedError("StreamDeleted")<{ readonly streamId: string }> {}

/** A message of a catch-up subscription: an event, or the news that it reached the end of the log. */
export type SubscriptionMessage =
  | { readonly _tag: "Event"; readonly event: RecordedEvent }
  | { readonly _tag: "CaughtUp"; readonly position: Position | null }

export interface ReadAllOptions {
  /** Exclusive: events after this position. Default: from the start. */
  readonly after?: Position | undefined
  readonly maxCount?: number | undefined
  readonly filter?: EventFilter | undefined
}

export interface ReadStreamOptions {
  /** Inclusive. Default 0. */
  readonly fromRevision?: bigint | undefined
  readonly maxCount?: number | undefined
}

/**
 * The port. Infrastructure failures are defects (adapters retry transient ones first);
 * the typed errors are the ones a caller can act on.
 */
export interface EventStoreService {
  /** Appends atomically. Fails with `WrongExpectedRevision` or `StreamDeleted`; re-appending the same event ids succeeds without writing. */
  readonly appendToStream: (
    streamId: string,
    events: ReadonlyArray<EventToAppend>,
    expectedRevision: ExpectedRevision
  ) => Effect.Effect<AppendResult, WrongExpectedRevision | StreamDeleted>
  /**
   * Several appends, each atomic and judged on its own as `appendToStream` would (one refused does
   * not stop the others), applied in order; the outcomes in the same order. The embedded stores
   * commit them in one transaction. Infrastructure failures are defects, as everywhere.
   */
  readonly appendMany: (appends: ReadonlyArray<StreamAppend>) => Effect.Effect<Array<StreamAppendOutcome>>
  /** The stream's events in revision order; empty when the stream does not exist or was soft-deleted. */
  readonly readStream: (
    streamId: string,
    options?: ReadStreamOptions
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, StreamDeleted>
  /** Events of `$all` in position order. */
  readonly readAll: (options?: ReadAllOptions) => Effect.Effect<ReadonlyArray<RecordedEvent>>
  /**
   * `readAll`, synchronously, for the stores that read in process (SQLite, memory; not
   * EventStoreDB). Returns the events fully read (no cursor left open, so the caller may write
   * through the same connection right after, in the same transaction); `maxCount` counts the events
   * the filter keeps, and fewer than `maxCount` means the head was reached. The projection runner
   * reads a replay's page inside its transaction with it, a chunk at a time.
   */
  readonly readAllNow?: ((options?: ReadAllOptions) => ReadonlyArray<RecordedEvent>) | undefined
  /** Position of the last event in `$all`, null when empty. */
  readonly headPosition: Effect.Effect<Position | null>
  /**
   * A catch-up subscription to `$all`: first the stored events after `after` (exclusive), then a
   * `CaughtUp`, then live events as they are appended. Never ends by itself. `seen`, asked before
   * each read, names a position the subscriber already has by other means (the projection runner's
   * inline batches): the in-process adapters read on after it rather than deliver those events
   * again; EventStoreDB's ignores it, so a subscriber must still skip what it has seen.
   */
  readonly subscribeToAll: (options?: {
    readonly after?: Position | undefined
    readonly filter?: EventFilter | undefined
    readonly seen?: (() => Position | null) | undefined
  }) => Stream.Stream<SubscriptionMessage>
  /** Soft delete: reads see no events; a later append recreates the stream, continuing its revisions. */
  readonly deleteStream: (streamId: string, expectedRevision: ExpectedRevision) => Effect.Effect<void, WrongExpectedRevision | StreamDeleted>
  /** Hard delete: the stream can never be written or read again (`StreamDeleted`). */
  readonly tombstoneStream: (streamId: string, expectedRevision: ExpectedRevision) => Effect.Effect<void, WrongExpectedRevision | StreamDeleted>
}

/**
 * `appendMany` for an adapter without a batch of its own: every append through `appendToStream`,
 * all at once (over the network they travel concurrently).
 */
export const appendEachConcurrently = (appendToStream: EventStoreService["appendToStream"]): EventStoreService["appendMany"] =>
  (appends) =>
    Effect.forEach(appends, (a) => Effect.either(appendToStream(a.streamId, a.events, a.expectedRevision)), { concurrency: "unbounded" })

/** The `EventStore` service tag. Adapters: `MemoryEventStore`, `SqliteEventStore`, `EsdbEventStore`. */
export class EventStore extends Context.Tag("call-ledger/EventStore")<EventStore, EventStoreService>() {}

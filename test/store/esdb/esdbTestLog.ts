/**
 * The storage behind the in-process EventStoreDB test server: one transaction log in memory, with
 * EventStoreDB's write rules (expected version, idempotency, soft delete, tombstone) and its `$all`
 * positions. It outlives a server instance, so a test can stop the server and start another one over
 * the same data, as after a restart.
 *
 * Behaviour follows EventStoreDB's own write path, `IndexWriter.CheckCommit` in
 * EventStore/EventStore `src/EventStore.Core/Services/Storage/ReaderIndex/IndexWriter.cs`, cited
 * per rule below as "CheckCommit".
 */

/** EventStoreDB's `ExpectedVersion` constants (`EventStore.Core.Data.ExpectedVersion`). */
export const ExpectedVersion = { any: -2n, noStream: -1n, streamExists: -4n } as const

/** The event number of a tombstone, and the `$tb` of a soft-deleted stream (`EventNumber.DeletedStream` = long.MaxValue). */
export const deletedStream = 9_223_372_036_854_775_807n

/** One record of the log: an event as EventStoreDB stores it. Positions are byte offsets in the log. */
export interface LogRecord {
  readonly streamId: string
  readonly revision: bigint
  readonly eventId: string
  readonly type: string
  readonly contentType: string
  readonly data: Uint8Array
  readonly customMetadata: Uint8Array
  readonly commit: bigint
  readonly prepare: bigint
  /** 100-ns ticks since the Unix epoch, as the gRPC `created` metadata entry carries it. */
  readonly createdTicks: bigint
}

/** An event proposed by an append. */
export interface ProposedEvent {
  readonly eventId: string
  readonly type: string
  readonly contentType: string
  readonly data: Uint8Array
  readonly customMetadata: Uint8Array
}

/** The outcome of a write, as the gRPC layer reports it. */
export type WriteOutcome =
  | { readonly _tag: "Written"; readonly currentRevision: bigint; readonly commit: bigint; readonly prepare: bigint }
  | { readonly _tag: "WrongExpectedVersion"; readonly currentRevision: bigint }
  | { readonly _tag: "StreamDeleted" }

interface StreamState {
  lastRevision: bigint
  tombstoned: boolean
  /** `$tb` from the stream's metadata; `deletedStream` while soft-deleted. */
  truncateBefore: bigint | null
}

type CommitDecision =
  | { readonly _tag: "Ok"; readonly softDeleted: boolean }
  | { readonly _tag: "Idempotent"; readonly endRevision: bigint }
  | { readonly _tag: "WrongExpectedVersion" }
  | { readonly _tag: "Deleted" }

const encoder = new TextEncoder()

/** The log. Listeners hear of every record written, in log order. */
export class EsdbTestLog {
  readonly records: Array<LogRecord> = []
  private readonly streams = new Map<string, StreamState>()
  /** CheckCommit's `_committedEvents`: event id to stream and revision (the server bounds it by memory; this one is unbounded). */
  private readonly committedEvents = new Map<string, { readonly streamId: string; readonly revision: bigint }>()
  private readonly listeners = new Set<() => void>()
  /** Next free byte offset. Starts past a header, as a chunk file does, so no position is a small count. */
  private offset = 4_096n

  constructor() {
    // A fresh EventStoreDB writes system events before any client does (default users and settings),
    // so `$all` never starts with an application event.
    this.writeSystem("$users", "$UserCreated", { LoginName: "admin" })
    this.writeSystem("$settings", "update-default-acl", { $userStreamAcl: {}, $systemStreamAcl: {} })
  }

  /** Calls `listener` after every write until the returned function is called. */
  onWrite(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  stream(streamId: string): { readonly lastRevision: bigint; readonly tombstoned: boolean; readonly truncateBefore: bigint | null } | undefined {
    return this.streams.get(streamId)
  }

  /** The events of a stream a read may see: revisions at or after `$tb` (a soft-deleted stream shows none). */
  visibleEvents(streamId: string): Array<LogRecord> {
    const state = this.streams.get(streamId)
    if (state === undefined) return []
    const from = state.truncateBefore ?? 0n
    return this.records.filter((r) => r.streamId === streamId && r.revision >= from && r.revision !== deletedStream)
  }

  /** Appends `events` to `streamId` if `expected` holds (an exact revision, or one of `ExpectedVersion`). */
  append(streamId: string, expected: bigint, events: ReadonlyArray<ProposedEvent>): WriteOutcome {
    const decision = this.checkCommit(streamId, expected, events.map((e) => e.eventId))
    const current = this.streams.get(streamId)?.lastRevision ?? -1n
    switch (decision._tag) {
      case "Deleted":
        return { _tag: "StreamDeleted" }
      case "WrongExpectedVersion":
        return { _tag: "WrongExpectedVersion", currentRevision: current }
      case "Idempotent": {
        // The server answers an idempotent write with the original events' revision and position.
        const last = this.records.find((r) => r.streamId === streamId && r.revision === decision.endRevision)!
        return { _tag: "Written", currentRevision: decision.endRevision, commit: last.commit, prepare: last.prepare }
      }
      case "Ok": {
        if (events.length === 0) return { _tag: "Written", currentRevision: current, commit: this.offset, prepare: this.offset }
        const first = this.writeTransaction(streamId, current + 1n, events)
        const last = this.records[this.records.length - 1]!
        if (decision.softDeleted) {
          // Writing to a soft-deleted stream recreates it: the server rewrites the metadata with `$tb`
          // at the first new event ("Deleting streams and events": "you can append to it again,
          // continuing from where it left off").
          this.setTruncateBefore(streamId, current + 1n)
        }
        this.notify()
        return { _tag: "Written", currentRevision: last.revision, commit: first.commit, prepare: last.prepare }
      }
    }
  }

  /**
   * Soft delete (`hardDelete: false`): checks `expected` like a write, then sets `$tb` to
   * `deletedStream` in the `$$` metadata stream. Reads then answer "stream not found"; the events
   * stay in `$all` until a scavenge ("Deleting streams and events", soft delete).
   */
  softDelete(streamId: string, expected: bigint): WriteOutcome {
    return this.delete(streamId, expected, () => this.setTruncateBefore(streamId, deletedStream))
  }

  /**
   * Tombstone (hard delete): writes a `$streamDeleted` event at event number `deletedStream`; the
   * stream can never be read or written again ("Deleting streams and events", hard delete).
   */
  tombstone(streamId: string, expected: bigint): WriteOutcome {
    return this.delete(streamId, expected, () => {
      const state = this.streams.get(streamId) ?? { lastRevision: -1n, tombstoned: false, truncateBefore: null }
      this.writeRecord(streamId, deletedStream, crypto.randomUUID(), "$streamDeleted", new Uint8Array(), null)
      state.tombstoned = true
      this.streams.set(streamId, state)
    })
  }

  private delete(streamId: string, expected: bigint, write: () => void): WriteOutcome {
    // A delete carries a fresh id, so CheckCommit never finds it idempotent.
    const decision = this.checkCommit(streamId, expected, [crypto.randomUUID()])
    const current = this.streams.get(streamId)?.lastRevision ?? -1n
    if (decision._tag === "Deleted") return { _tag: "StreamDeleted" }
    if (decision._tag !== "Ok") return { _tag: "WrongExpectedVersion", currentRevision: current }
    write()
    this.notify()
    const last = this.records[this.records.length - 1]!
    return { _tag: "Written", currentRevision: current, commit: last.commit, prepare: last.prepare }
  }

  /** CheckCommit, rule for rule. */
  private checkCommit(streamId: string, expected: bigint, eventIds: ReadonlyArray<string>): CommitDecision {
    const state = this.streams.get(streamId)
    if (state?.tombstoned) return { _tag: "Deleted" }
    const current = state?.lastRevision ?? -1n
    const softDeleted = state?.truncateBefore === deletedStream

    if (expected === ExpectedVersion.streamExists) {
      // CheckCommit: StreamExists on a soft-deleted stream is "Deleted"; on a missing stream it is a
      // wrong expected version unless the stream has metadata.
      if (softDeleted) return { _tag: "Deleted" }
      if (current < 0n && (this.streams.get(`$$${streamId}`)?.lastRevision ?? -1n) < 0n) return { _tag: "WrongExpectedVersion" }
    }

    if (expected === ExpectedVersion.any || expected === ExpectedVersion.streamExists) {
      // CheckCommit: with Any/StreamExists, idempotency rests on the committed-events cache only:
      // the first id decides; a partial match is "CorruptedIdempotency" (reported as a wrong expected version).
      let endRevision: bigint | null = null
      for (const [index, eventId] of eventIds.entries()) {
        const known = this.committedEvents.get(eventId)
        if (known === undefined || known.streamId !== streamId) {
          return index === 0 ? { _tag: "Ok", softDeleted } : { _tag: "WrongExpectedVersion" }
        }
        endRevision = known.revision
      }
      return endRevision === null ? { _tag: "Ok", softDeleted } : { _tag: "Idempotent", endRevision }
    }

    if (expected < current) {
      // CheckCommit: an expected version behind the stream is idempotent when the events after it
      // carry exactly these ids; NoStream on a soft-deleted stream is allowed (it recreates it).
      let revision = expected
      for (const eventId of eventIds) {
        revision += 1n
        const stored = this.records.find((r) => r.streamId === streamId && r.revision === revision)
        if (stored?.eventId === eventId) continue
        if (revision !== expected + 1n) return { _tag: "WrongExpectedVersion" }
        if (expected === ExpectedVersion.noStream && softDeleted) return { _tag: "Ok", softDeleted }
        return { _tag: "WrongExpectedVersion" }
      }
      return revision === expected ? { _tag: "WrongExpectedVersion" } : { _tag: "Idempotent", endRevision: revision }
    }

    if (expected > current) return { _tag: "WrongExpectedVersion" }
    return { _tag: "Ok", softDeleted }
  }

  /**
   * Writes one append as one implicit transaction. Each event gets its own prepare position; all
   * share the commit position of the transaction's first record, which is how the server's `$all`
   * reader reports events committed together (TFPos: commit position, prepare position).
   */
  private writeTransaction(streamId: string, firstRevision: bigint, events: ReadonlyArray<ProposedEvent>): LogRecord {
    const commit = this.offset
    let first: LogRecord | undefined
    events.forEach((e, i) => {
      const record = this.writeRecord(streamId, firstRevision + BigInt(i), e.eventId, e.type, e.data, commit, e.contentType, e.customMetadata)
      first ??= record
    })
    return first!
  }

  private writeRecord(
    streamId: string,
    revision: bigint,
    eventId: string,
    type: string,
    data: Uint8Array,
    commit: bigint | null,
    contentType = "application/octet-stream",
    customMetadata: Uint8Array = new Uint8Array()
  ): LogRecord {
    const prepare = this.offset
    const record: LogRecord = {
      streamId,
      revision,
      eventId,
      type,
      contentType,
      data,
      customMetadata,
      commit: commit ?? prepare,
      prepare,
      createdTicks: BigInt(Date.now()) * 10_000n
    }
    this.records.push(record)
    // A prepare record's size: a fixed header plus its variable parts, padded to 8 bytes.
    const size = 96 + streamId.length + type.length + data.length + customMetadata.length
    this.offset += BigInt(size + ((8 - (size % 8)) % 8))
    const state = this.streams.get(streamId) ?? { lastRevision: -1n, tombstoned: false, truncateBefore: null }
    if (revision !== deletedStream) state.lastRevision = revision
    this.streams.set(streamId, state)
    this.committedEvents.set(eventId, { streamId, revision })
    return record
  }

  private setTruncateBefore(streamId: string, truncateBefore: bigint): void {
    const metaStream = `$$${streamId}`
    const meta = this.streams.get(metaStream)?.lastRevision ?? -1n
    const json = `{"$tb":${truncateBefore.toString()}}`
    this.writeRecord(metaStream, meta + 1n, crypto.randomUUID(), "$metadata", encoder.encode(json), null, "application/json")
    const state = this.streams.get(streamId) ?? { lastRevision: -1n, tombstoned: false, truncateBefore: null }
    state.truncateBefore = truncateBefore
    this.streams.set(streamId, state)
  }

  private writeSystem(streamId: string, type: string, data: unknown): void {
    const current = this.streams.get(streamId)?.lastRevision ?? -1n
    this.writeRecord(streamId, current + 1n, crypto.randomUUID(), type, encoder.encode(JSON.stringify(data)), null, "application/json")
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }
}

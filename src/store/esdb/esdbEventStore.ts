/**
 * The `EventStore` port on EventStoreDB (KurrentDB) through `@eventstore/db-client` 6.x over gRPC.
 * Streams, revisions, expected revisions and `$all` positions are the server's own; the adapter
 * maps them to the port's types, retries transient failures, and turns the rest into defects.
 *
 * Two differences from the embedded stores come from the server and are kept, not hidden:
 * a soft-deleted stream's events stay in `$all` until a scavenge ("Deleting streams and events"),
 * and a conflict on a soft-deleted stream reports the stream's last revision, not `no_stream`.
 */
import { BACKWARDS, END, EventStoreDBClient, FORWARDS, NO_STREAM, START, StreamNotFoundError } from "@eventstore/db-client"
import type { AllStreamResolvedEvent, ExpectedRevision as ClientExpectedRevision, ReadPosition, ResolvedEvent } from "@eventstore/db-client"
import { Effect, Layer } from "effect"
import { appendEachConcurrently, EventStore, WrongExpectedRevision } from "../eventStore.js"
import type { AppendResult, EventStoreService, Position, RecordedEvent } from "../eventStore.js"
import { checkExpectedRevision } from "../expectedRevision.js"
import { comparePositions } from "../position.js"
import { isSystemEvent, matchesFilter } from "../eventFilter.js"
import { fromEsdbEvent, toEsdbEvent } from "./esdbEventCodec.js"
import { esdbCall, forRead, forWrite } from "./esdbFailure.js"
import { esdbSubscribeToAll } from "./esdbSubscription.js"

/** Events per `$all` read request. */
const pageSize = 512

/** How often a `stream_exists` delete re-reads after losing a race with an append. */
const maxDeleteRaces = 5

const collect = async <A>(readable: AsyncIterable<A>): Promise<Array<A>> => {
  const out: Array<A> = []
  for await (const item of readable) out.push(item)
  return out
}

/** The client's `$all` read answer as an event position; every event of `$all` carries one. */
const positionOf = (resolved: AllStreamResolvedEvent): Position | undefined => {
  const position = resolved.event?.position
  return position === undefined ? undefined : { commit: position.commit, prepare: position.prepare }
}

/**
 * The port over an existing client. The client is not disposed here: whoever made it owns it
 * (`esdbEventStoreLayer` does, an embedding service does).
 */
export const makeEsdbEventStore = (client: EventStoreDBClient): EventStoreService => {
  /** The stream's last event, newest first; empty when the stream is missing or soft-deleted. */
  const lastEventOf = (streamId: string) =>
    esdbCall("readStream", () =>
      collect(client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })).catch((error: unknown) =>
        error instanceof StreamNotFoundError ? [] : Promise.reject(error)
      )
    ).pipe(
      Effect.catchAll(forRead(streamId)),
      Effect.map((events: Array<ResolvedEvent>) => events.map(fromEsdbEvent).find((e): e is RecordedEvent => e !== null))
    )

  const appendToStream: EventStoreService["appendToStream"] = Effect.fn("EsdbEventStore.appendToStream")(
    function*(streamId, events, expectedRevision) {
      if (events.length === 0) {
        // Nothing to write: answer the expected-revision check from a read instead of an empty append,
        // whose answer cannot tell "no stream" from revision 0 through the client.
        const last = yield* lastEventOf(streamId)
        const conflict = checkExpectedRevision(streamId, expectedRevision, last?.revision ?? null)
        if (conflict !== null) return yield* Effect.fail(conflict)
        return { nextExpectedRevision: last?.revision ?? -1n, position: last?.position ?? { commit: 0n, prepare: 0n } } satisfies AppendResult
      }
      const result = yield* esdbCall("appendToStream", () =>
        client.appendToStream(streamId, events.map(toEsdbEvent), { expectedRevision })
      ).pipe(Effect.catchAll(forWrite(streamId, expectedRevision)))
      if (result.position !== undefined) {
        return { nextExpectedRevision: result.nextExpectedRevision, position: result.position } satisfies AppendResult
      }
      // Some server versions answer an idempotent append without a position: take the stored event's.
      const last = yield* lastEventOf(streamId)
      if (last === undefined) return yield* Effect.dieMessage(`append to ${streamId} succeeded but the stream reads empty`)
      return { nextExpectedRevision: result.nextExpectedRevision, position: last.position } satisfies AppendResult
    }
  )

  const readStream: EventStoreService["readStream"] = Effect.fn("EsdbEventStore.readStream")(function*(streamId, options) {
    const resolved = yield* esdbCall("readStream", () =>
      collect(client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: options?.fromRevision ?? START,
        maxCount: options?.maxCount ?? Number.MAX_SAFE_INTEGER
      })).catch((error: unknown) => (error instanceof StreamNotFoundError ? [] : Promise.reject(error)))
    ).pipe(Effect.catchAll(forRead(streamId)))
    return resolved.map(fromEsdbEvent).filter((e): e is RecordedEvent => e !== null)
  })

  const readAll: EventStoreService["readAll"] = Effect.fn("EsdbEventStore.readAll")(function*(options) {
    const maxCount = options?.maxCount ?? Number.POSITIVE_INFINITY
    const out: Array<RecordedEvent> = []
    // Client 6.x sends `no_filter` on `$all` reads (only subscriptions take a filter), so the
    // filter is applied here. Its `fromPosition` is inclusive; skipping up to the cursor makes
    // `after` exclusive and lets each page start at the previous page's last event.
    let cursor = options?.after
    while (out.length < maxCount) {
      const from: ReadPosition = cursor ?? START
      const page = yield* esdbCall("readAll", () => collect(client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: pageSize }))).pipe(
        Effect.orDie
      )
      let advanced = false
      for (const resolved of page) {
        const position = positionOf(resolved)
        if (position === undefined || (cursor !== undefined && comparePositions(position, cursor) <= 0)) continue
        cursor = position
        advanced = true
        const event = fromEsdbEvent(resolved)
        if (event !== null && matchesFilter(event, options?.filter)) out.push(event)
        if (out.length >= maxCount) break
      }
      if (page.length < pageSize || !advanced) break
    }
    return out
  })

  const headPosition: EventStoreService["headPosition"] = Effect.gen(function*() {
    // The newest non-system event: system events (settings, stream metadata, tombstones) are
    // never delivered, so a checkpoint could never reach their position.
    let cursor: Position | undefined
    for (;;) {
      const from: ReadPosition = cursor ?? END
      const page = yield* esdbCall("readAll", () => collect(client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: 64 }))).pipe(
        Effect.orDie
      )
      let advanced = false
      for (const resolved of page) {
        const position = positionOf(resolved)
        if (position === undefined || (cursor !== undefined && comparePositions(position, cursor) >= 0)) continue
        cursor = position
        advanced = true
        if (resolved.event !== undefined && !isSystemEvent(resolved.event.type, resolved.event.streamId)) return position
      }
      if (page.length < 64 || !advanced) return null
    }
  }).pipe(Effect.withSpan("EsdbEventStore.headPosition"))

  const deleteStream: EventStoreService["deleteStream"] = Effect.fn("EsdbEventStore.deleteStream")(function*(streamId, expectedRevision) {
    if (expectedRevision !== "stream_exists") {
      yield* esdbCall("deleteStream", () =>
        client.deleteStream(streamId, { expectedRevision: expectedRevision === "no_stream" ? NO_STREAM : expectedRevision })
      ).pipe(Effect.catchAll(forWrite(streamId, expectedRevision)))
      return
    }
    // The client's deleteStream cannot send `stream_exists` (the request has it; client 6.x does
    // not map it), so delete at the revision just read, and read again if an append slipped in.
    const attempt = Effect.gen(function*() {
      const last = yield* lastEventOf(streamId)
      if (last === undefined) return yield* Effect.fail(new WrongExpectedRevision({ streamId, expected: "stream_exists", actual: "no_stream" }))
      yield* esdbCall("deleteStream", () => client.deleteStream(streamId, { expectedRevision: last.revision })).pipe(
        Effect.catchAll(forWrite(streamId, "stream_exists"))
      )
    })
    yield* attempt.pipe(
      Effect.retry({
        times: maxDeleteRaces,
        while: (error) => error instanceof WrongExpectedRevision && error.actual !== "no_stream"
      })
    )
  })

  const tombstoneStream: EventStoreService["tombstoneStream"] = Effect.fn("EsdbEventStore.tombstoneStream")(function*(streamId, expectedRevision) {
    // The client's type leaves out `stream_exists`, but its tombstoneStream sends it (tombstoneStream.js),
    // and the server checks it atomically.
    const expected = expectedRevision as ClientExpectedRevision
    yield* esdbCall("tombstoneStream", () => client.tombstoneStream(streamId, { expectedRevision: expected })).pipe(
      Effect.catchAll(forWrite(streamId, expectedRevision))
    )
  })

  return {
    appendToStream,
    appendMany: appendEachConcurrently(appendToStream),
    readStream,
    readAll,
    headPosition,
    subscribeToAll: (options) => esdbSubscribeToAll(client, options),
    deleteStream,
    tombstoneStream
  }
}

/**
 * A scoped layer that connects with `connectionString` (for example `esdb://127.0.0.1:2113?tls=false`
 * for an insecure single node, `esdb+discover://host:2113` for a cluster) and disposes the client's
 * streams when the scope closes. An invalid connection string is a defect.
 */
export const esdbEventStoreLayer = (connectionString: string): Layer.Layer<EventStore> =>
  Layer.scoped(
    EventStore,
    Effect.acquireRelease(
      Effect.try(() => EventStoreDBClient.connectionString(connectionString)).pipe(Effect.orDie),
      (client) => Effect.promise(() => client.dispose())
    ).pipe(Effect.map(makeEsdbEventStore))
  )

/** A layer over a client handed in by an embedding service, which keeps owning (and disposing) it. */
export const esdbEventStoreFromClient = (client: EventStoreDBClient): Layer.Layer<EventStore> =>
  Layer.succeed(EventStore, makeEsdbEventStore(client))

/**
 * A catch-up subscription built from `readAll` and an append signal, for adapters without a
 * server-side subscription (memory, SQLite): read pages after the last position seen; when a page
 * comes back empty, say `CaughtUp` once, then wait for the next append.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { AppendSignal } from "./appendSignal.js"
import type { EventFilter, Position, RecordedEvent, SubscriptionMessage } from "./eventStore.js"

export interface CatchUpSource {
  readonly readAll: (after: Position | undefined, maxCount: number, filter: EventFilter | undefined) => Effect.Effect<ReadonlyArray<RecordedEvent>>
  readonly signal: AppendSignal
  /** How long to wait for a signal before reading again; bounds the delay for writers in other processes. */
  readonly pollIntervalMillis: number
  readonly pageSize: number
}

interface Cursor {
  readonly after: Position | undefined
  readonly caughtUp: boolean
}

export const catchUpSubscription = (
  source: CatchUpSource,
  options?: { readonly after?: Position | undefined; readonly filter?: EventFilter | undefined }
): Stream.Stream<SubscriptionMessage> =>
  Stream.paginateChunkEffect<Cursor, SubscriptionMessage, never, never>(
    { after: options?.after, caughtUp: false },
    (cursor) =>
      Effect.gen(function*() {
        const nextAppend = source.signal.ticket(source.pollIntervalMillis)
        const page = yield* source.readAll(cursor.after, source.pageSize, options?.filter)
        if (page.length > 0) {
          const last = page[page.length - 1]!
          const messages = page.map((event): SubscriptionMessage => ({ _tag: "Event", event }))
          return [Chunk.unsafeFromArray(messages), Option.some({ after: last.position, caughtUp: cursor.caughtUp })] as const
        }
        if (!cursor.caughtUp) {
          const caughtUp: SubscriptionMessage = { _tag: "CaughtUp", position: cursor.after ?? null }
          return [Chunk.of(caughtUp), Option.some({ after: cursor.after, caughtUp: true })] as const
        }
        yield* nextAppend
        return [Chunk.empty<SubscriptionMessage>(), Option.some(cursor)] as const
      })
  )

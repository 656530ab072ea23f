/**
 * A catch-up subscription built from `readAll` and an append signal, for adapters without a
 * server-side subscription (memory, SQLite): read pages after the last position seen; when a page
 * comes back empty, say `CaughtUp` once, then wait for the next append (after a short page too,
 * once caught up). An append by another process on the same file has no signal here: it is read
 * after the next one of this process's, or after the poll interval.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { AppendSignal } from "./appendSignal.js"
import type { EventFilter, Position, RecordedEvent, SubscriptionMessage } from "./eventStore.js"
import { comparePositions } from "./position.js"

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
  /** The ticket to wait on before the next read, when the last page already read up to the head. */
  readonly waitFirst?: Effect.Effect<void> | undefined
}

/** The later of the cursor and what the subscriber has seen by other means. */
const furthest = (after: Position | undefined, seen: Position | null | undefined): Position | undefined =>
  seen === null || seen === undefined || (after !== undefined && comparePositions(after, seen) >= 0) ? after : seen

export const catchUpSubscription = (
  source: CatchUpSource,
  options?: {
    readonly after?: Position | undefined
    readonly filter?: EventFilter | undefined
    readonly seen?: (() => Position | null) | undefined
  }
): Stream.Stream<SubscriptionMessage> =>
  Stream.paginateChunkEffect<Cursor, SubscriptionMessage, never, never>(
    { after: options?.after, caughtUp: false },
    (cursor) =>
      Effect.gen(function*() {
        if (cursor.waitFirst !== undefined) yield* cursor.waitFirst
        const nextAppend = source.signal.ticket(source.pollIntervalMillis)
        const after = furthest(cursor.after, options?.seen?.())
        const page = yield* source.readAll(after, source.pageSize, options?.filter)
        if (page.length > 0) {
          const last = page[page.length - 1]!
          const messages = page.map((event): SubscriptionMessage => ({ _tag: "Event", event }))
          // A short page read all there was when it ran, so once caught up the next read waits
          // for an append after this ticket (taken before the read) rather than finding nothing:
          // on the live path that empty read was one query per batch of the projection runner.
          const waitFirst = cursor.caughtUp && page.length < source.pageSize ? nextAppend : undefined
          return [Chunk.unsafeFromArray(messages), Option.some({ after: last.position, caughtUp: cursor.caughtUp, waitFirst })] as const
        }
        if (!cursor.caughtUp) {
          const caughtUp: SubscriptionMessage = { _tag: "CaughtUp", position: after ?? null }
          return [Chunk.of(caughtUp), Option.some({ after, caughtUp: true })] as const
        }
        yield* nextAppend
        return [Chunk.empty<SubscriptionMessage>(), Option.some({ ...cursor, after })] as const
      })
  )

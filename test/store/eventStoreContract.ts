/**
 * The contract every `EventStore` adapter keeps: revisions, conflicts, global order, idempotent
 * re-append, deletes, and catch-up subscriptions that resume from a checkpoint after a restart.
 * Each adapter's spec file calls `eventStoreContract(name, harness)`.
 *
 * Written against the port only, so it also runs over a shared EventStoreDB server: every test
 * works in streams under its own random prefix, reads `$all` filtered by that prefix, never
 * assumes positions are small or consecutive (it orders them with `comparePositions`), and waits
 * generously for subscriptions.
 */
import { randomUUID } from "node:crypto"
import { Chunk, Effect, Either, Fiber, Queue, Stream } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { StreamDeleted, WrongExpectedRevision } from "../../src/store/eventStore.js"
import type {
  EventFilter, EventMetadata, EventStoreService, EventToAppend, Position, RecordedEvent, SubscriptionMessage
} from "../../src/store/eventStore.js"
import { comparePositions } from "../../src/store/position.js"

/** One store under test. `reopen` gives a new store over the same storage, as after a process restart. */
export interface OpenedStore {
  readonly store: EventStoreService
  /** Closes this instance and opens a fresh one over the same data; absent for stores that cannot outlive their process. */
  readonly reopen?: () => Promise<OpenedStore>
  readonly close: () => Promise<void>
}

export interface EventStoreHarness {
  /** Opens an empty store. Called once per test. */
  readonly open: () => Promise<OpenedStore>
}

/** How long a test waits for subscription messages; generous for gRPC servers. */
const subscriptionTimeout = "20 seconds"

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)

/** The typed failure of `effect`; rejects if it succeeds. */
const failureOf = <A, E>(effect: Effect.Effect<A, E>): Promise<E> => Effect.runPromise(Effect.flip(effect))

const metadataFor = (commandId: string): EventMetadata => ({
  schemaVersion: 1,
  commandId,
  correlationId: `corr-${commandId}`,
  causationId: null,
  occurredAt: "2024-02-01T09:14:03.000Z",
  recordedAt: "2024-02-01T09:14:04.000Z"
})

/** The `data` of test event number `n`: non-ASCII text, nesting, null, to check the round trip. */
const dataOf = (n: number) => ({ n, text: "नमस्ते ☎", nested: { list: [1, 2, 3], flag: true, none: null } })

/** `count` new events with fresh ids, `data.n` numbering them from `from`. */
const newEvents = (count: number, type = "CallTested", from = 0): Array<EventToAppend> =>
  Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    type,
    data: dataOf(from + i),
    metadata: metadataFor(`cmd-${from + i}`)
  }))

/** `stream@revision`, the way these tests compare what was read. */
const label = (event: RecordedEvent): string => `${event.streamId}@${event.revision}`

const labelMessage = (message: SubscriptionMessage): string =>
  message._tag === "Event" ? label(message.event) : "CaughtUp"

const expectIncreasing = (positions: ReadonlyArray<Position>): void => {
  for (let i = 1; i < positions.length; i++) {
    expect(comparePositions(positions[i - 1]!, positions[i]!), `position ${i} after position ${i - 1}`).toBeLessThan(0)
  }
}

/** A running catch-up subscription whose messages the test takes in order. */
interface Subscriber {
  /** The next `count` messages; rejects after `subscriptionTimeout`. */
  readonly take: (count: number) => Promise<ReadonlyArray<SubscriptionMessage>>
  /** Messages delivered but not yet taken. */
  readonly pending: () => Promise<number>
  readonly stop: () => Promise<void>
}

const subscribe = (
  store: EventStoreService,
  options: { readonly after?: Position | undefined; readonly filter?: EventFilter | undefined }
): Subscriber => {
  const queue = Effect.runSync(Queue.unbounded<SubscriptionMessage>())
  const fiber = Effect.runFork(Stream.runForEach(store.subscribeToAll(options), (message) => Queue.offer(queue, message)))
  return {
    take: (count) =>
      run(Queue.takeN(queue, count).pipe(
        Effect.map(Chunk.toReadonlyArray),
        Effect.timeoutFail({
          duration: subscriptionTimeout,
          onTimeout: () => new Error(`expected ${count} subscription messages within ${subscriptionTimeout}`)
        })
      )),
    pending: () => run(Queue.size(queue)),
    stop: () => run(Fiber.interrupt(fiber).pipe(Effect.asVoid))
  }
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

export const eventStoreContract = (adapterName: string, harness: EventStoreHarness): void => {
  describe(`EventStore contract: ${adapterName}`, () => {
    let opened: OpenedStore
    let prefix: string
    const subscribers: Array<Subscriber> = []
    const store = () => opened.store
    /** A stream id unique to this test. */
    const streamOf = (name: string) => `${prefix}${name}`
    /** Every stream of this test. */
    const mine = (): EventFilter => ({ streamPrefixes: [prefix] })
    const watch = (options: { readonly after?: Position | undefined; readonly filter?: EventFilter | undefined }) => {
      const subscriber = subscribe(store(), options)
      subscribers.push(subscriber)
      return subscriber
    }
    /** Replaces the store by a new instance over the same storage; skips the test when the adapter cannot. */
    const restart = async (skip: (note: string) => never) => {
      const reopen = opened.reopen
      if (reopen === undefined) return skip(`${adapterName} does not outlive its process`)
      for (const subscriber of subscribers.splice(0)) await subscriber.stop()
      opened = await reopen()
    }

    beforeEach(async () => {
      prefix = `contract${randomUUID().replaceAll("-", "")}-`
      opened = await harness.open()
    })

    afterEach(async () => {
      for (const subscriber of subscribers.splice(0)) await subscriber.stop()
      await opened.close()
    })

    describe("appendToStream", () => {
      it("numbers a new stream's events from revision 0 and reads them back as written", async () => {
        const stream = streamOf("call-1")
        const events = newEvents(3)
        const result = await run(store().appendToStream(stream, events, "no_stream"))
        expect(result.nextExpectedRevision).toBe(2n)

        const read = await run(store().readStream(stream))
        expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n])
        expect(read.map((e) => ({ eventId: e.eventId, streamId: e.streamId, type: e.type, data: e.data, metadata: e.metadata })))
          .toEqual(events.map((e) => ({ eventId: e.eventId, streamId: stream, type: e.type, data: e.data, metadata: e.metadata })))
        expectIncreasing(read.map((e) => e.position))
        expect(comparePositions(result.position, read[2]!.position)).toBe(0)
      })

      it("appends with the exact revision it read and returns the next one", async () => {
        const stream = streamOf("call-1")
        const first = await run(store().appendToStream(stream, newEvents(2), "no_stream"))
        const second = await run(store().appendToStream(stream, newEvents(1, "CallTested", 2), first.nextExpectedRevision))
        expect(second.nextExpectedRevision).toBe(2n)
        expect(comparePositions(second.position, first.position)).toBeGreaterThan(0)
        const third = await run(store().appendToStream(stream, newEvents(1, "CallTested", 3), "stream_exists"))
        expect(third.nextExpectedRevision).toBe(3n)
        expect((await run(store().readStream(stream))).map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3])
      })

      it("rejects no_stream on an existing stream, naming the expected and actual revision", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(3), "no_stream"))
        const error = await failureOf(store().appendToStream(stream, newEvents(1), "no_stream"))
        expect(error).toBeInstanceOf(WrongExpectedRevision)
        expect(error).toMatchObject({ streamId: stream, expected: "no_stream", actual: 2n })
      })

      it("rejects stream_exists and an exact revision on a missing stream, with actual no_stream", async () => {
        const stream = streamOf("missing")
        const exists = await failureOf(store().appendToStream(stream, newEvents(1), "stream_exists"))
        expect(exists).toBeInstanceOf(WrongExpectedRevision)
        expect(exists).toMatchObject({ streamId: stream, expected: "stream_exists", actual: "no_stream" })
        const exact = await failureOf(store().appendToStream(stream, newEvents(1), 0n))
        expect(exact).toMatchObject({ _tag: "WrongExpectedRevision", streamId: stream, expected: 0n, actual: "no_stream" })
        expect(await run(store().readStream(stream))).toEqual([])
      })

      it("rejects a stale or future exact revision and stores nothing", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(3), "no_stream"))
        const stale = await failureOf(store().appendToStream(stream, newEvents(1, "CallTested", 3), 0n))
        expect(stale).toBeInstanceOf(WrongExpectedRevision)
        expect(stale).toMatchObject({ streamId: stream, expected: 0n, actual: 2n })
        const future = await failureOf(store().appendToStream(stream, newEvents(1, "CallTested", 3), 5n))
        expect(future).toMatchObject({ _tag: "WrongExpectedRevision", expected: 5n, actual: 2n })
        expect((await run(store().readStream(stream))).map((e) => e.revision)).toEqual([0n, 1n, 2n])
      })

      it("appends with any whether or not the stream exists", async () => {
        const stream = streamOf("call-1")
        expect((await run(store().appendToStream(stream, newEvents(2), "any"))).nextExpectedRevision).toBe(1n)
        expect((await run(store().appendToStream(stream, newEvents(1, "CallTested", 2), "any"))).nextExpectedRevision).toBe(2n)
      })

      it("lets exactly one of two concurrent appends at the same revision win", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(1), "no_stream"))
        const [a, b] = [newEvents(1, "A", 1), newEvents(1, "B", 1)]
        const outcomes = await run(Effect.all(
          [store().appendToStream(stream, a, 0n), store().appendToStream(stream, b, 0n)],
          { concurrency: "unbounded", mode: "either" }
        ))
        const winners = outcomes.filter(Either.isRight)
        const losers = outcomes.filter(Either.isLeft).map((o) => o.left)
        expect(winners).toHaveLength(1)
        expect(losers).toHaveLength(1)
        expect(losers[0]).toMatchObject({ _tag: "WrongExpectedRevision", expected: 0n, actual: 1n })
        const read = await run(store().readStream(stream))
        expect(read).toHaveLength(2)
        expect(read[1]!.eventId).toBe(Either.isRight(outcomes[0]!) ? a[0]!.eventId : b[0]!.eventId)
      })

      it("stores re-appended event ids once and returns the original result", async () => {
        const stream = streamOf("call-1")
        const events = newEvents(2)
        const original = await run(store().appendToStream(stream, events, "no_stream"))

        const retried = await run(store().appendToStream(stream, events, "no_stream"))
        expect(retried.nextExpectedRevision).toBe(original.nextExpectedRevision)
        expect(comparePositions(retried.position, original.position)).toBe(0)

        await run(store().appendToStream(stream, newEvents(1, "CallTested", 2), 1n))
        const late = await run(store().appendToStream(stream, events, "no_stream"))
        expect(late.nextExpectedRevision).toBe(1n)
        expect(comparePositions(late.position, original.position)).toBe(0)

        const read = await run(store().readStream(stream))
        expect(read.map((e) => e.eventId)).toEqual([...events.map((e) => e.eventId), read[2]!.eventId])
        expect(await run(store().readAll({ filter: mine() }))).toHaveLength(3)
      })
    })

    describe("appendMany", () => {
      it("judges each append on its own: a refused one leaves the others stored, outcomes in order", async () => {
        const [a, b, c] = [streamOf("call-a"), streamOf("call-b"), streamOf("call-c")]
        await run(store().appendToStream(b, newEvents(1), "no_stream"))
        const retried = newEvents(1, "CallTested", 5)
        const first = await run(store().appendToStream(c, retried, "no_stream"))

        const outcomes = await run(store().appendMany([
          { streamId: a, events: newEvents(2), expectedRevision: "no_stream" },
          { streamId: b, events: newEvents(1, "CallTested", 1), expectedRevision: "no_stream" },
          { streamId: b, events: newEvents(1, "CallTested", 2), expectedRevision: 0n },
          { streamId: c, events: retried, expectedRevision: "no_stream" }
        ]))

        expect(outcomes.map((o) => Either.isRight(o) ? o.right.nextExpectedRevision : o.left._tag))
          .toEqual([1n, "WrongExpectedRevision", 1n, 0n])
        const refused = outcomes[1]!
        expect(Either.isLeft(refused) && refused.left).toMatchObject({ streamId: b, expected: "no_stream", actual: 0n })
        // The re-appended ids were stored once: the outcome is the original append's.
        expect(Either.isRight(outcomes[3]!) && comparePositions(outcomes[3].right.position, first.position)).toBe(0)
        expect((await run(store().readStream(b))).map((e) => (e.data as { n: number }).n)).toEqual([0, 2])
        expect(await run(store().readAll({ filter: mine() }))).toHaveLength(2 + 2 + 1)
      })
    })

    describe("readStream", () => {
      it("reads a stream that was never written as empty", async () => {
        expect(await run(store().readStream(streamOf("never-written")))).toEqual([])
      })

      it("reads from a revision, inclusive, at most maxCount events", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(5), "no_stream"))
        const read = await run(store().readStream(stream, { fromRevision: 1n, maxCount: 3 }))
        expect(read.map((e) => e.revision)).toEqual([1n, 2n, 3n])
        expect((await run(store().readStream(stream, { fromRevision: 4n }))).map((e) => e.revision)).toEqual([4n])
        expect(await run(store().readStream(stream, { fromRevision: 5n }))).toEqual([])
      })
    })

    describe("readAll", () => {
      it("orders the events of all streams by one global position; an append's position is its last event's", async () => {
        const [a, b] = [streamOf("call-a"), streamOf("call-b")]
        const first = await run(store().appendToStream(a, newEvents(2), "no_stream"))
        const second = await run(store().appendToStream(b, newEvents(1), "no_stream"))
        const third = await run(store().appendToStream(a, newEvents(1, "CallTested", 2), 1n))

        const all = await run(store().readAll({ filter: mine() }))
        expect(all.map(label)).toEqual([`${a}@0`, `${a}@1`, `${b}@0`, `${a}@2`])
        expectIncreasing(all.map((e) => e.position))
        expect([first, second, third].map((r) => r.position)).toEqual([all[1]!.position, all[2]!.position, all[3]!.position])
        const head = await run(store().headPosition)
        expect(head).not.toBeNull()
        expect(comparePositions(head!, third.position)).toBeGreaterThanOrEqual(0)
      })

      it("reads after a position, exclusive, and pages with maxCount", async () => {
        const [a, b] = [streamOf("call-a"), streamOf("call-b")]
        await run(store().appendToStream(a, newEvents(3), "no_stream"))
        await run(store().appendToStream(b, newEvents(2), "no_stream"))
        const all = await run(store().readAll({ filter: mine() }))
        expect(all).toHaveLength(5)

        const afterSecond = await run(store().readAll({ after: all[1]!.position, filter: mine() }))
        expect(afterSecond.map(label)).toEqual(all.slice(2).map(label))
        expect(await run(store().readAll({ after: all[4]!.position, filter: mine() }))).toEqual([])

        const pages: Array<Array<string>> = []
        let after: Position | undefined
        for (;;) {
          const page = await run(store().readAll({ after, maxCount: 2, filter: mine() }))
          if (page.length === 0) break
          pages.push(page.map(label))
          after = page[page.length - 1]!.position
        }
        expect(pages).toEqual([all.slice(0, 2).map(label), all.slice(2, 4).map(label), all.slice(4).map(label)])
      })

      it("filters by stream prefix and by event type", async () => {
        const [call, other] = [streamOf("call-1"), streamOf("other-1")]
        await run(store().appendToStream(call, [...newEvents(1, "CallDialed"), ...newEvents(1, "CallEnded", 1)], "no_stream"))
        await run(store().appendToStream(other, newEvents(1, "CallDialed"), "no_stream"))

        const calls = await run(store().readAll({ filter: { streamPrefixes: [streamOf("call-")] } }))
        expect(calls.map(label)).toEqual([`${call}@0`, `${call}@1`])
        const both = await run(store().readAll({ filter: { streamPrefixes: [streamOf("call-"), streamOf("other-")] } }))
        expect(both.map(label)).toEqual([`${call}@0`, `${call}@1`, `${other}@0`])
        const dialed = await run(store().readAll({ filter: { streamPrefixes: [prefix], eventTypes: ["CallDialed"] } }))
        expect(dialed.map(label)).toEqual([`${call}@0`, `${other}@0`])
      })
    })

    describe("deleteStream and tombstoneStream", () => {
      it("soft delete hides the events; a later append recreates the stream and continues its revisions", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(2), "no_stream"))
        await run(store().deleteStream(stream, 1n))
        expect(await run(store().readStream(stream))).toEqual([])

        const recreated = await run(store().appendToStream(stream, newEvents(1, "CallTested", 2), "any"))
        expect(recreated.nextExpectedRevision).toBe(2n)
        const read = await run(store().readStream(stream))
        expect(read.map((e) => e.revision)).toEqual([2n])
        expect(read[0]!.data).toMatchObject({ n: 2 })
      })

      it("soft delete checks the expected revision", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(2), "no_stream"))
        const error = await failureOf(store().deleteStream(stream, 0n))
        expect(error).toBeInstanceOf(WrongExpectedRevision)
        expect(error).toMatchObject({ expected: 0n, actual: 1n })
        expect(await run(store().readStream(stream))).toHaveLength(2)
      })

      it("tombstone makes the stream unreadable and unwritable for good", async () => {
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(2), "no_stream"))
        const wrong = await failureOf(store().tombstoneStream(stream, 0n))
        expect(wrong).toBeInstanceOf(WrongExpectedRevision)
        await run(store().tombstoneStream(stream, 1n))

        expect(await failureOf(store().readStream(stream))).toBeInstanceOf(StreamDeleted)
        const append = await failureOf(store().appendToStream(stream, newEvents(1), "any"))
        expect(append).toBeInstanceOf(StreamDeleted)
        expect(append).toMatchObject({ streamId: stream })
        expect(await failureOf(store().appendToStream(stream, newEvents(1), "no_stream"))).toBeInstanceOf(StreamDeleted)
        expect(await failureOf(store().deleteStream(stream, "any"))).toBeInstanceOf(StreamDeleted)
        expect(await failureOf(store().tombstoneStream(stream, "any"))).toBeInstanceOf(StreamDeleted)
      })
    })

    describe("subscribeToAll", () => {
      it("delivers the stored events, then CaughtUp, then live events as they are appended", async () => {
        const start = await run(store().headPosition)
        const [a, b, other] = [streamOf("call-a"), streamOf("call-b"), streamOf("other-1")]
        await run(store().appendToStream(a, newEvents(2), "no_stream"))
        const subscriber = watch({ after: start ?? undefined, filter: { streamPrefixes: [streamOf("call-")] } })

        const history = await subscriber.take(3)
        expect(history.map(labelMessage)).toEqual([`${a}@0`, `${a}@1`, "CaughtUp"])

        await run(store().appendToStream(other, newEvents(1), "no_stream"))
        await run(store().appendToStream(b, newEvents(1), "no_stream"))
        await run(store().appendToStream(a, newEvents(1, "CallTested", 2), 1n))
        const live = await subscriber.take(2)
        expect(live.map(labelMessage)).toEqual([`${b}@0`, `${a}@2`])
        const delivered = [...history, ...live].flatMap((m) => m._tag === "Event" ? [m.event] : [])
        expectIncreasing(delivered.map((e) => e.position))
        expect(delivered[0]!.data).toEqual(dataOf(0))

        await sleep(300)
        expect(await subscriber.pending()).toBe(0)
      })

      it("resumes after a checkpoint with exactly the later events", async () => {
        const [a, b] = [streamOf("call-a"), streamOf("call-b")]
        await run(store().appendToStream(a, newEvents(3), "no_stream"))
        await run(store().appendToStream(b, newEvents(2), "no_stream"))
        const all = await run(store().readAll({ filter: mine() }))
        const checkpoint = all[2]!.position

        const subscriber = watch({ after: checkpoint, filter: mine() })
        expect((await subscriber.take(3)).map(labelMessage)).toEqual([`${b}@0`, `${b}@1`, "CaughtUp"])
      })

      it("delivers only the event types asked for", async () => {
        const start = await run(store().headPosition)
        const stream = streamOf("call-1")
        const subscriber = watch({ after: start ?? undefined, filter: { streamPrefixes: [prefix], eventTypes: ["CallEnded"] } })
        expect((await subscriber.take(1)).map(labelMessage)).toEqual(["CaughtUp"])
        await run(store().appendToStream(stream, [...newEvents(2, "CallDialed"), ...newEvents(1, "CallEnded", 2)], "no_stream"))
        expect((await subscriber.take(1)).map(labelMessage)).toEqual([`${stream}@2`])
      })
    })

    describe("after a restart", () => {
      it("keeps every committed event with its revision, position and id, and appends continue from there", async ({ skip }) => {
        const [a, b] = [streamOf("call-a"), streamOf("call-b")]
        await run(store().appendToStream(a, newEvents(2), "no_stream"))
        await run(store().appendToStream(b, newEvents(1), "no_stream"))
        const before = await run(store().readAll({ filter: mine() }))
        await restart(skip)

        expect(await run(store().readAll({ filter: mine() }))).toEqual(before)
        const next = await run(store().appendToStream(a, newEvents(1, "CallTested", 2), 1n))
        expect(next.nextExpectedRevision).toBe(2n)
        expect(comparePositions(next.position, before[2]!.position)).toBeGreaterThan(0)
        const stale = await failureOf(store().appendToStream(b, newEvents(1), "no_stream"))
        expect(stale).toMatchObject({ _tag: "WrongExpectedRevision", actual: 0n })
      })

      it("a subscription from a checkpoint saved before the restart delivers exactly the events after it", async ({ skip }) => {
        const start = await run(store().headPosition)
        const stream = streamOf("call-1")
        await run(store().appendToStream(stream, newEvents(3), "no_stream"))
        const before = watch({ after: start ?? undefined, filter: mine() })
        const handled = await before.take(2)
        const checkpoint = handled[1]!._tag === "Event" ? handled[1]!.event.position : undefined
        expect(checkpoint).toBeDefined()
        await restart(skip)

        await run(store().appendToStream(stream, newEvents(2, "CallTested", 3), 2n))
        const after = watch({ after: checkpoint, filter: mine() })
        expect((await after.take(4)).map(labelMessage)).toEqual([`${stream}@2`, `${stream}@3`, `${stream}@4`, "CaughtUp"])
        await run(store().appendToStream(stream, newEvents(1, "CallTested", 5), 4n))
        expect((await after.take(1)).map(labelMessage)).toEqual([`${stream}@5`])
      })

      it("re-appending the same event ids after a restart stores nothing", async ({ skip }) => {
        const stream = streamOf("call-1")
        const events = newEvents(2)
        const original = await run(store().appendToStream(stream, events, "no_stream"))
        await restart(skip)

        const retried = await run(store().appendToStream(stream, events, "no_stream"))
        expect(retried.nextExpectedRevision).toBe(1n)
        expect(comparePositions(retried.position, original.position)).toBe(0)
        expect(await run(store().readStream(stream))).toHaveLength(2)
      })

      it("soft deletes and tombstones outlive the restart", async ({ skip }) => {
        const [soft, hard] = [streamOf("call-soft"), streamOf("call-hard")]
        await run(store().appendToStream(soft, newEvents(2), "no_stream"))
        await run(store().appendToStream(hard, newEvents(1), "no_stream"))
        await run(store().deleteStream(soft, "any"))
        await run(store().tombstoneStream(hard, "any"))
        await restart(skip)

        expect(await run(store().readStream(soft))).toEqual([])
        expect((await run(store().appendToStream(soft, newEvents(1), "any"))).nextExpectedRevision).toBe(2n)
        expect(await failureOf(store().appendToStream(hard, newEvents(1), "any"))).toBeInstanceOf(StreamDeleted)
      })
    })
  })
}

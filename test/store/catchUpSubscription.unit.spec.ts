import { Effect, Fiber, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { makeAppendSignal } from "../../src/store/appendSignal.js"
import { catchUpSubscription } from "../../src/store/catchUpSubscription.js"
import type { Position, RecordedEvent, SubscriptionMessage } from "../../src/store/eventStore.js"
import { sequencePosition } from "../../src/store/position.js"

/** An in-memory log behind `catchUpSubscription`, counting its reads. */
const countedLog = (pageSize: number) => {
  const events: Array<RecordedEvent> = []
  const signal = makeAppendSignal()
  let reads = 0
  const source = {
    readAll: (after: Position | undefined, maxCount: number) =>
      Effect.sync(() => {
        reads++
        return events.filter((e) => after === undefined || e.position.commit > after.commit).slice(0, maxCount)
      }),
    signal,
    pollIntervalMillis: 60_000,
    pageSize
  }
  const append = () => {
    const n = events.length + 1
    events.push({
      eventId: `e${n}`, streamId: "call-a", revision: BigInt(n - 1), position: sequencePosition(n), type: "CallNoted", data: {},
      metadata: { occurredAt: "2025-03-01T00:00:00.000Z", recordedAt: "2025-03-01T00:00:00.000Z" } as RecordedEvent["metadata"]
    })
    signal.notify()
  }
  return { source, append, reads: () => reads }
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2))
  expect(condition()).toBe(true)
}

describe("catch-up subscription", () => {
  it("catches up in pages, says CaughtUp once, then delivers each append in order", async () => {
    const log = countedLog(2)
    for (let i = 0; i < 5; i++) log.append()
    const seen: Array<SubscriptionMessage> = []
    const fiber = Effect.runFork(Stream.runForEach(catchUpSubscription(log.source), (m) => Effect.sync(() => seen.push(m))))
    await until(() => seen.some((m) => m._tag === "CaughtUp"))
    log.append()
    log.append()
    await until(() => seen.length === 8)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(seen.map((m) => (m._tag === "Event" ? m.event.eventId : m._tag))).toEqual(
      ["e1", "e2", "e3", "e4", "e5", "CaughtUp", "e6", "e7"]
    )
  })

  it("once caught up, a page shorter than a full one waits for the next append instead of reading again to find nothing", async () => {
    const log = countedLog(100)
    const seen: Array<SubscriptionMessage> = []
    const fiber = Effect.runFork(Stream.runForEach(catchUpSubscription(log.source), (m) => Effect.sync(() => seen.push(m))))
    await until(() => seen.length === 1 && log.reads() === 2) // the empty log read, CaughtUp, read again, waiting
    for (let n = 1; n <= 3; n++) {
      log.append()
      await until(() => seen.length === 1 + n)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(log.reads()).toBe(2 + 3)
  })

  it("reads on after what the subscriber says it has seen by other means, before and after it caught up", async () => {
    const log = countedLog(100)
    for (let i = 0; i < 3; i++) log.append()
    let seenElsewhere = 2
    const seen: Array<SubscriptionMessage> = []
    const subscription = catchUpSubscription(log.source, { seen: () => sequencePosition(seenElsewhere) })
    const fiber = Effect.runFork(Stream.runForEach(subscription, (m) => Effect.sync(() => seen.push(m))))
    await until(() => seen.some((m) => m._tag === "CaughtUp"))
    // Appended and applied elsewhere (e4, e5), then one that was not (e6).
    log.append()
    log.append()
    seenElsewhere = 5
    log.append()
    await until(() => seen.length === 3)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(seen.map((m) => (m._tag === "Event" ? m.event.eventId : m._tag))).toEqual(["e3", "CaughtUp", "e6"])
  })
})

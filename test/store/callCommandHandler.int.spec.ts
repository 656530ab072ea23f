import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import type { CallCommand } from "../../src/domain/callCommands.js"
import { CallAlreadyEnded, CallNotFound } from "../../src/domain/callErrors.js"
import { callStreamId } from "../../src/domain/callEvents.js"
import { decideCallCommand, eventIdFor, handleCallCommand } from "../../src/store/callCommandHandler.js"
import { appendEachConcurrently, EventStore } from "../../src/store/eventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { makeMemoryEventStore, MemoryEventStoreLive } from "../../src/store/memory/memoryEventStore.js"
import { answerCall, at, callDialed, callId, dialCall, endCall, telephonyStatus } from "../domain/callFixtures.js"

const stream = callStreamId(callId)

const readCall = Effect.flatMap(EventStore, (store) => store.readStream(stream))

/**
 * The memory store, made to switch fibers at each read and before each append (as a store
 * over the network does), counting the conflicts its appends meet.
 */
const interleavingStore = () => {
  const store = makeMemoryEventStore()
  let conflicts = 0
  const appendToStream: EventStoreService["appendToStream"] = (streamId, events, expected) =>
    Effect.zipRight(Effect.yieldNow(), store.appendToStream(streamId, events, expected)).pipe(
      Effect.tapErrorTag("WrongExpectedRevision", () => Effect.sync(() => { conflicts += 1 }))
    )
  const service: EventStoreService = {
    ...store,
    readStream: (streamId, options) => Effect.zipLeft(store.readStream(streamId, options), Effect.yieldNow()),
    appendToStream,
    appendMany: appendEachConcurrently(appendToStream)
  }
  return { service, conflicts: () => conflicts }
}

const merge = (commandId: string, keyDetails: Record<string, unknown>): CallCommand =>
  ({ type: "MergeMetadata", commandId, callId, at: at(60), keyDetails })

describe("decideCallCommand (a dry run before an action outside the ledger)", () => {
  it.effect("answers what a command would append, or the rule it breaks, writing nothing; nothing for one already applied", () =>
    Effect.gen(function*() {
      yield* handleCallCommand(dialCall())
      const end = endCall()

      expect((yield* decideCallCommand(end)).map((e) => e.type)).toEqual(["CallEnded"])
      expect((yield* readCall).map((e) => e.type)).toEqual(["CallDialed"])
      yield* handleCallCommand(end)
      // A retry of the same command (its response lost) would append nothing: no second hang-up.
      expect(yield* decideCallCommand(end)).toEqual([])
      const another = yield* Effect.flip(decideCallCommand(endCall({ commandId: "cmd-end-again" })))
      expect(another).toBeInstanceOf(CallAlreadyEnded)
      const unknown = yield* Effect.flip(decideCallCommand(endCall({ callId: "cal_unknown" })))
      expect(unknown).toBeInstanceOf(CallNotFound)
    }).pipe(Effect.provide(MemoryEventStoreLive)))
})

describe("handleCallCommand (write path, memory store)", () => {
  it.effect("writes commands on cached calls submitted together in one batch, each caller told its own result", () => {
    const memory = makeMemoryEventStore()
    const batches: Array<ReadonlyArray<string>> = []
    const service: EventStoreService = {
      ...memory,
      appendMany: (appends) => {
        batches.push(appends.map((a) => a.streamId))
        return memory.appendMany(appends)
      }
    }
    const ids = ["cal_batch1", "cal_batch2", "cal_batch3"]
    return Effect.gen(function*() {
      yield* Effect.forEach(ids, (id) => handleCallCommand(dialCall({ callId: id, commandId: `dial-${id}` })), { discard: true })
      batches.length = 0

      const answer = (id: string) => handleCallCommand(answerCall({ callId: id, commandId: `answer-${id}` }))
      const [a, b, c, second] = yield* Effect.all([
        answer(ids[0]!), answer(ids[1]!), answer(ids[2]!),
        // A second command on a call of the batch is decided after the first is stored.
        handleCallCommand({ ...merge("merge-1", { k: 1 }), callId: ids[0]! })
      ], { concurrency: "unbounded" })

      expect(batches[0]).toEqual(ids.map(callStreamId))
      expect([a, b, c].map((r) => [r.callId, r.revision, r.events.map((e) => e.type)]))
        .toEqual(ids.map((id) => [id, 1n, ["CallAnswered"]]))
      expect(second.revision).toBe(2n)
      const stored = yield* memory.readStream(callStreamId(ids[0]!))
      expect(stored.map((e) => e.type)).toEqual(["CallDialed", "CallAnswered", "CallMetadataMerged"])
      expect([a, second].map((r) => r.position)).toEqual(stored.slice(1).map((e) => e.position))
    }).pipe(Effect.provideService(EventStore, service))
  })

  it.effect("appends a command's events with deterministic ids and the ledger's metadata", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2024-02-01T09:15:00.000Z"))
      const result = yield* handleCallCommand(dialCall(), { correlationId: "req-77", causationId: "http-post-calls" })
      const [stored, ...rest] = yield* readCall

      expect(rest).toEqual([])
      expect(stored).toMatchObject({
        eventId: eventIdFor("cmd-dial", 0),
        streamId: stream,
        revision: 0n,
        type: "CallDialed",
        data: callDialed().data,
        metadata: {
          schemaVersion: 1,
          commandId: "cmd-dial",
          correlationId: "req-77",
          causationId: "http-post-calls",
          occurredAt: at(0),
          recordedAt: "2024-02-01T09:15:00.000Z"
        }
      })
      expect(stored!.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(result).toEqual({ callId, events: [callDialed()], revision: 0n, position: stored!.position })
    }).pipe(Effect.provide(MemoryEventStoreLive)))

  it.effect("numbers the ids of a command's events by index and correlates them with the command by default", () =>
    Effect.gen(function*() {
      yield* handleCallCommand(dialCall())
      const completed = telephonyStatus("completed", 3, 60, { durationSeconds: 30 })
      const result = yield* handleCallCommand(completed)
      const events = (yield* readCall).slice(1)

      expect(events.map((e) => [e.type, e.revision, e.eventId])).toEqual([
        ["CallAnswered", 1n, eventIdFor(completed.commandId, 0)],
        ["CallEnded", 2n, eventIdFor(completed.commandId, 1)]
      ])
      expect(events.map((e) => e.metadata)).toEqual(events.map(() => expect.objectContaining({
        commandId: completed.commandId, correlationId: completed.commandId, causationId: null, occurredAt: at(60)
      })))
      expect(result.revision).toBe(2n)
      expect(result.position).toEqual(events[1]!.position)
      expect(eventIdFor(completed.commandId, 0)).not.toBe(eventIdFor("another-command", 0))
    }).pipe(Effect.provide(MemoryEventStoreLive)))

  it.effect("appends a command handled twice only once", () =>
    Effect.gen(function*() {
      const first = yield* handleCallCommand(dialCall())
      const again = yield* handleCallCommand(dialCall())
      const callback = telephonyStatus("ringing", 1, 3)
      yield* handleCallCommand(callback)
      const callbackAgain = yield* handleCallCommand(callback)

      expect(again).toEqual({ callId, events: [], revision: first.revision, position: null })
      expect(callbackAgain).toMatchObject({ events: [], revision: 1n, position: null })
      expect((yield* readCall).map((e) => e.type)).toEqual(["CallDialed", "CallRinging"])
    }).pipe(Effect.provide(MemoryEventStoreLive)))

  it.effect("stores a command retried while the first try is in flight once, both tries succeeding", () => {
    const { service, conflicts } = interleavingStore()
    return Effect.gen(function*() {
      const [a, b] = yield* Effect.all([handleCallCommand(dialCall()), handleCallCommand(dialCall())], { concurrency: "unbounded" })

      expect(a.position).toEqual(b.position)
      expect(a.revision).toBe(0n)
      expect(b.revision).toBe(0n)
      expect((yield* readCall).map((e) => e.eventId)).toEqual([eventIdFor("cmd-dial", 0)])
      expect(conflicts()).toBe(0)
    }).pipe(Effect.provideService(EventStore, service))
  })

  it.effect("still knows every command of a call after a command retried in flight settled its cached state twice", () => {
    const { service } = interleavingStore()
    return Effect.gen(function*() {
      const first = merge("cmd-merge-first", { first: true })
      yield* handleCallCommand(dialCall())
      yield* handleCallCommand(first)
      const tagged = merge("cmd-merge-tag", { tag: "vip" })
      yield* Effect.all([handleCallCommand(tagged), handleCallCommand(tagged)], { concurrency: "unbounded" })

      for (const again of [first, tagged, dialCall()]) {
        expect(yield* handleCallCommand(again), again.commandId).toMatchObject({ events: [], revision: 2n })
      }
      expect(yield* handleCallCommand(merge("cmd-merge-next", { next: 1 }))).toMatchObject({ revision: 3n })
      expect((yield* readCall).map((e) => e.metadata.commandId)).toEqual(["cmd-dial", "cmd-merge-first", "cmd-merge-tag", "cmd-merge-next"])
    }).pipe(Effect.provideService(EventStore, service))
  })

  it.effect("lands two concurrent commands on one call, retrying the one that met a conflict", () => {
    const { service, conflicts } = interleavingStore()
    return Effect.gen(function*() {
      // Another writer (a second instance: its own state cache) dials, so this one reads the stream.
      yield* handleCallCommand(dialCall()).pipe(Effect.provideService(EventStore, { ...service }))
      const results = yield* Effect.all(
        [handleCallCommand(merge("cmd-merge-a", { a: 1 })), handleCallCommand(merge("cmd-merge-b", { b: 2 }))],
        { concurrency: "unbounded" }
      )
      const stored = yield* readCall

      expect(conflicts()).toBeGreaterThanOrEqual(1)
      expect(stored.map((e) => e.revision)).toEqual([0n, 1n, 2n])
      expect(stored.slice(1).map((e) => e.metadata.commandId).sort()).toEqual(["cmd-merge-a", "cmd-merge-b"])
      expect(results.map((r) => r.revision).sort()).toEqual([1n, 2n])
    }).pipe(Effect.provideService(EventStore, service))
  })

  it.effect("decides from its cached state of a call, and re-reads when another instance wrote the call meanwhile", () => {
    const { service, conflicts } = interleavingStore()
    const other: EventStoreService = { ...service }
    return Effect.gen(function*() {
      yield* handleCallCommand(dialCall())
      yield* handleCallCommand(merge("cmd-merge-other", { other: true })).pipe(Effect.provideService(EventStore, other))
      // This instance's cached state stops at revision 0: its append conflicts, it re-reads and lands at 2.
      const mine = yield* handleCallCommand(merge("cmd-merge-mine", { mine: true }))
      const answered = yield* handleCallCommand(answerCall())

      expect(conflicts()).toBe(1)
      expect(mine.revision).toBe(2n)
      expect(answered.revision).toBe(3n)
      expect((yield* readCall).map((e) => e.metadata.commandId)).toEqual(["cmd-dial", "cmd-merge-other", "cmd-merge-mine", "cmd-answer"])
    }).pipe(Effect.provideService(EventStore, service))
  })

  it.effect("fails a rule violation with its typed error and appends nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const notFound = yield* Effect.flip(handleCallCommand(endCall()))
      expect(notFound).toBeInstanceOf(CallNotFound)
      expect(yield* store.headPosition).toBeNull()

      yield* handleCallCommand(dialCall())
      yield* handleCallCommand(endCall())
      const head = yield* store.headPosition
      const ended = yield* Effect.flip(handleCallCommand(endCall({ commandId: "cmd-end-again", at: at(120) })))
      expect(ended).toBeInstanceOf(CallAlreadyEnded)
      expect(ended).toMatchObject({ callId })
      expect(yield* store.headPosition).toEqual(head)
      expect((yield* readCall).map((e) => e.type)).toEqual(["CallDialed", "CallEnded"])
    }).pipe(Effect.provide(MemoryEventStoreLive)))

  it.effect("treats a tombstoned call stream as a call that does not exist", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      yield* handleCallCommand(dialCall())
      yield* store.tombstoneStream(stream, "any")
      expect(yield* Effect.flip(handleCallCommand(endCall()))).toBeInstanceOf(CallNotFound)
    }).pipe(Effect.provide(MemoryEventStoreLive)))
})

describe("handleCallCommand batches (commit delay)", () => {
  /** The memory store, recording how many appends each `appendMany` (one batch) carried. */
  const countingStore = () => {
    const store = makeMemoryEventStore()
    const batches: Array<number> = []
    const service: EventStoreService = {
      ...store,
      appendMany: (appends) => {
        batches.push(appends.length)
        return store.appendMany(appends)
      }
    }
    return { service, batches }
  }
  const dialOf = (id: string) => dialCall({ callId: id, commandId: `dial-${id}` })
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

  it("a lone command is written at the next turn; under load a batch waits one turn more, so commands of two turns commit together", async () => {
    const { batches, service } = countingStore()
    const submit = (id: string) => Effect.runPromise(handleCallCommand(dialOf(id)).pipe(Effect.provideService(EventStore, service)))

    // A lone command (nothing batched before it): one turn.
    const lone = submit("cal_lone")
    await nextTurn()
    expect(batches).toEqual([1])
    await lone

    // Two at once: still one turn (the last batch held one), one batch of two.
    const both = Promise.all([submit("cal_a"), submit("cal_b")])
    await nextTurn()
    expect(batches).toEqual([1, 2])
    await both

    // The last batch held two: a command submitted a turn after the first joins its batch.
    const first = submit("cal_c")
    await nextTurn()
    const second = submit("cal_d")
    await Promise.all([first, second])
    expect(batches).toEqual([1, 2, 2])
  })
})

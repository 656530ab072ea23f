/**
 * The EventStoreDB adapter over real gRPC: the real `EventStoreDBClient` against the in-process
 * test server on 127.0.0.1, running the shared store contract and the adapter's own cases
 * (conflicts and duplicates on both append RPCs, a restart mid-subscription, tombstones, a node
 * briefly unavailable). With `EVENTSTORE_CONNECTION_STRING` set, the contract also runs against
 * that real server.
 */
import { randomUUID } from "node:crypto"
import { EventStoreDBClient } from "@eventstore/db-client"
import { Chunk, Effect, Exit, Fiber, Queue, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { makeEsdbEventStore } from "../../../src/store/esdb/esdbEventStore.js"
import { StreamDeleted, WrongExpectedRevision } from "../../../src/store/eventStore.js"
import type { EventStoreService, EventToAppend, SubscriptionMessage } from "../../../src/store/eventStore.js"
import { comparePositions } from "../../../src/store/position.js"
import { eventStoreContract } from "../eventStoreContract.js"
import type { OpenedStore } from "../eventStoreContract.js"
import { ExpectedVersion } from "./esdbTestLog.js"
import { startEsdbTestServer } from "./esdbTestServer.js"
import type { EsdbTestServer, EsdbTestServerOptions } from "./esdbTestServer.js"

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)
const failureOf = <A, E>(effect: Effect.Effect<A, E>): Promise<E> => Effect.runPromise(Effect.flip(effect))
const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** A store over a fresh client to `server`; `reopen` stops the server and starts another over the same log. */
const openOn = (server: EsdbTestServer): OpenedStore => {
  const client = EventStoreDBClient.connectionString(server.connectionString)
  return {
    store: makeEsdbEventStore(client),
    reopen: async () => {
      await client.dispose()
      await server.stop()
      return openOn(await startEsdbTestServer({ log: server.log }))
    },
    close: async () => {
      await client.dispose()
      await server.stop()
    }
  }
}

eventStoreContract("esdb over gRPC (in-process test server)", { open: async () => openOn(await startEsdbTestServer()) })

const realServer = process.env["EVENTSTORE_CONNECTION_STRING"]
if (realServer === undefined) {
  console.log("esdb contract against a real server skipped: EVENTSTORE_CONNECTION_STRING is not set (e.g. esdb://127.0.0.1:2113?tls=false)")
}
// Runs only when a real EventStoreDB/KurrentDB is at hand; `reopen` there is a new client, the server keeps running.
describe.skipIf(realServer === undefined)("against a real EventStoreDB", () => {
  const openReal = (): OpenedStore => {
    const client = EventStoreDBClient.connectionString(realServer!)
    return {
      store: makeEsdbEventStore(client),
      reopen: async () => {
        await client.dispose()
        return openReal()
      },
      close: () => client.dispose()
    }
  }
  eventStoreContract("esdb (real server)", { open: async () => openReal() })
})

const event = (type = "CallTested", n = 0): EventToAppend => ({
  eventId: randomUUID(),
  type,
  data: { n },
  metadata: {
    schemaVersion: 1,
    commandId: randomUUID(),
    correlationId: "corr",
    causationId: null,
    occurredAt: "2024-02-01T09:14:03.000Z",
    recordedAt: "2024-02-01T09:14:04.000Z"
  }
})

const label = (message: SubscriptionMessage) => (message._tag === "Event" ? `${message.event.streamId}@${message.event.revision}` : "CaughtUp")

describe("esdb adapter over gRPC", () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  const open = async (options: EsdbTestServerOptions = {}) => {
    let server = await startEsdbTestServer(options)
    const client = EventStoreDBClient.connectionString(server.connectionString)
    cleanups.push(async () => {
      await client.dispose()
      await server.stop()
    })
    return {
      store: makeEsdbEventStore(client),
      server: () => server,
      /** Stops the node; `start` brings it back on the same port over the same data. */
      stop: () => server.stop(),
      start: async () => {
        server = await startEsdbTestServer({ ...options, log: server.log, port: server.port })
      }
    }
  }

  /** Takes subscription messages in order from a running subscription. */
  const subscribe = (store: EventStoreService, options: Parameters<EventStoreService["subscribeToAll"]>[0]) => {
    const queue = Effect.runSync(Queue.unbounded<SubscriptionMessage>())
    const fiber = Effect.runFork(Stream.runForEach(store.subscribeToAll(options), (m) => Queue.offer(queue, m)))
    cleanups.push(() => run(Fiber.interrupt(fiber)).then(() => undefined))
    return {
      take: (count: number) => run(Queue.takeN(queue, count).pipe(Effect.map(Chunk.toReadonlyArray), Effect.timeout("15 seconds"))),
      pending: () => run(Queue.size(queue)),
      fiber
    }
  }

  for (const advertiseBatchAppend of [true, false]) {
    const rpc = advertiseBatchAppend ? "Streams/BatchAppend" : "Streams/Append"

    describe(`appending through ${rpc}`, () => {
      it("reports a conflict with the expected and the actual revision, and writes nothing", async () => {
        const { store, server } = await open({ advertiseBatchAppend })
        await run(store.appendToStream("call-1", [event(), event()], "no_stream"))
        const stale = await failureOf(store.appendToStream("call-1", [event()], 0n))
        expect(stale).toBeInstanceOf(WrongExpectedRevision)
        expect(stale).toMatchObject({ streamId: "call-1", expected: 0n, actual: 1n })
        const missing = await failureOf(store.appendToStream("call-2", [event()], 3n))
        expect(missing).toMatchObject({ _tag: "WrongExpectedRevision", expected: 3n, actual: "no_stream" })
        expect(await run(store.readStream("call-1"))).toHaveLength(2)
        expect(server().calls.get(rpc)).toBeGreaterThan(0)
        expect(server().calls.get(advertiseBatchAppend ? "Streams/Append" : "Streams/BatchAppend")).toBeUndefined()
      })

      it("treats a duplicate append (same ids, same expected revision) as done, storing the events once", async () => {
        const { store } = await open({ advertiseBatchAppend })
        await run(store.appendToStream("call-1", [event()], "no_stream"))
        const events = [event("CallAnswered", 1), event("CallEnded", 2)]
        const first = await run(store.appendToStream("call-1", events, 0n))
        const again = await run(store.appendToStream("call-1", events, 0n))
        expect(again.nextExpectedRevision).toBe(2n)
        expect(comparePositions(again.position, first.position)).toBe(0)
        expect((await run(store.readStream("call-1"))).map((e) => e.eventId)).toHaveLength(3)
        expect(await run(store.readAll({ filter: { streamPrefixes: ["call-"] } }))).toHaveLength(3)
        // Same ids at a different expected revision are a conflict, not a duplicate (CheckCommit).
        const shifted = await failureOf(store.appendToStream("call-1", events, 1n))
        expect(shifted).toMatchObject({ _tag: "WrongExpectedRevision", expected: 1n, actual: 2n })
      })
    })
  }

  it("resumes a subscription after a node restart with exactly the events after its last position", async () => {
    const node = await open()
    await run(node.store.appendToStream("call-1", [event(), event()], "no_stream"))
    const subscriber = subscribe(node.store, { filter: { streamPrefixes: ["call-"] } })
    expect((await subscriber.take(3)).map(label)).toEqual(["call-1@0", "call-1@1", "CaughtUp"])

    await node.stop()
    // Written while this instance could not reach the node (by another client of the cluster).
    const encoder = new TextEncoder()
    const body = (n: number) => ({
      eventId: randomUUID(),
      type: "CallTested",
      contentType: "application/json",
      data: encoder.encode(JSON.stringify({ n })),
      customMetadata: encoder.encode(JSON.stringify(event().metadata))
    })
    node.server().log.append("call-1", 1n, [body(2)])
    node.server().log.append("other-1", ExpectedVersion.noStream, [body(0)])
    await sleep(200)
    await node.start()

    await run(node.store.appendToStream("call-2", [event()], "no_stream"))
    expect((await subscriber.take(2)).map(label)).toEqual(["call-1@2", "call-2@0"])
    await sleep(300)
    expect(await subscriber.pending()).toBe(0)
  })

  it("moves a filtered subscription past the events it filters out, by the server's checkpoints", async () => {
    const { store } = await open()
    const mine = await run(store.appendToStream("call-1", [event()], "no_stream"))
    for (let i = 0; i < 4; i++) await run(store.appendToStream(`other-${i}`, Array.from({ length: 25 }, () => event()), "no_stream"))
    const subscriber = subscribe(store, { filter: { streamPrefixes: ["call-"] } })
    const [first, caughtUp] = await subscriber.take(2)
    expect(label(first!)).toBe("call-1@0")
    // 100 events read after ours: checkpoints every 32 put the resume point (and CaughtUp) beyond them.
    expect(caughtUp).toMatchObject({ _tag: "CaughtUp" })
    const position = caughtUp!._tag === "CaughtUp" ? caughtUp!.position : null
    expect(comparePositions(position!, mine.position)).toBeGreaterThan(0)
  })

  it("retries an append while the node is briefly unavailable, and stores it once", async () => {
    const node = await open()
    await run(node.store.appendToStream("call-1", [event()], "no_stream"))
    await node.stop()
    const pending = Effect.runPromise(node.store.appendToStream("call-1", [event("CallEnded", 1)], 0n))
    await sleep(400)
    await node.start()
    const result = await pending
    expect(result.nextExpectedRevision).toBe(1n)
    expect((await run(node.store.readStream("call-1"))).map((e) => e.type)).toEqual(["CallTested", "CallEnded"])
  })

  it("makes a tombstoned stream StreamDeleted for reads, appends and deletes, and keeps it out of $all", async () => {
    const { store, server } = await open()
    await run(store.appendToStream("call-1", [event(), event()], "no_stream"))
    await run(store.tombstoneStream("call-1", "stream_exists"))
    expect(await failureOf(store.readStream("call-1"))).toEqual(new StreamDeleted({ streamId: "call-1" }))
    expect(await failureOf(store.appendToStream("call-1", [event()], "any"))).toBeInstanceOf(StreamDeleted)
    expect(await failureOf(store.deleteStream("call-1", "stream_exists"))).toBeInstanceOf(StreamDeleted)
    // The server wrote a `$streamDeleted` event into $all; the adapter never returns system events.
    expect(server().log.records.some((r) => r.type === "$streamDeleted")).toBe(true)
    expect((await run(store.readAll())).map((e) => e.type)).toEqual(["CallTested", "CallTested"])
  })

  it("checks stream_exists on delete and tombstone, which the client cannot send for a delete", async () => {
    const { store } = await open()
    const missing = await failureOf(store.deleteStream("call-9", "stream_exists"))
    expect(missing).toMatchObject({ _tag: "WrongExpectedRevision", expected: "stream_exists", actual: "no_stream" })
    const missingTombstone = await failureOf(store.tombstoneStream("call-9", "stream_exists"))
    expect(missingTombstone).toMatchObject({ _tag: "WrongExpectedRevision", expected: "stream_exists", actual: "no_stream" })
    await run(store.appendToStream("call-1", [event()], "no_stream"))
    await run(store.deleteStream("call-1", "stream_exists"))
    expect(await run(store.readStream("call-1"))).toEqual([])
  })

  it("reports the newest ledger event as the head, past the server's own system events", async () => {
    const { store, server } = await open()
    expect(await run(store.headPosition)).toBeNull()
    const written = await run(store.appendToStream("call-1", [event(), event()], "no_stream"))
    await run(store.deleteStream("call-2", "any"))
    const head = await run(store.headPosition)
    expect(head).toEqual(written.position)
    const last = server().log.records[server().log.records.length - 1]!
    expect(last.type).toBe("$metadata")
    // Positions are log offsets: not small, and events of one append share the commit position.
    expect(head!.commit).toBeGreaterThan(4_096n)
    expect(head!.prepare).toBeGreaterThan(head!.commit)
  })

  it("turns a persistent failure into a defect without retrying it", async () => {
    const { store, server } = await open()
    server().log.append("call-1", ExpectedVersion.noStream, [{
      eventId: randomUUID(),
      type: "CallTested",
      contentType: "application/octet-stream",
      data: new Uint8Array([1, 2, 3]),
      customMetadata: new Uint8Array()
    }])
    const started = Date.now()
    const exit = await Effect.runPromiseExit(store.readStream("call-1"))
    expect(Exit.isFailure(exit) && !Exit.isInterrupted(exit)).toBe(true)
    expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die")
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})

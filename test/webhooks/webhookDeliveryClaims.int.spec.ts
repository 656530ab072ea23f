/**
 * Two dispatchers, each on its own ledger file, sharing deliveries through claims in one store
 * (the memory store here; test/cluster runs the same over EventStoreDB's gRPC protocol).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { LedgerDatabase, openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { getWebhookDelivery, listWebhookDeliveries } from "../../src/webhooks/webhookDeliveries.js"
import { foldDeliveryClaim, makeSharedDeliveryClaims, webhookDeliveryStreamId } from "../../src/webhooks/webhookDeliveryClaims.js"
import type { SharedDeliveryClaims } from "../../src/webhooks/webhookDeliveryClaims.js"
import { startWebhookDispatcher } from "../../src/webhooks/webhookDispatcher.js"
import type { RunningWebhookDispatcher, WebhookDispatcherOptions } from "../../src/webhooks/webhookDispatcher.js"
import { createWebhookEndpoint, listWebhookEndpoints } from "../../src/webhooks/webhookEndpoints.js"
import type { WebhookEndpoint } from "../../src/webhooks/webhookEndpoints.js"
import { webhookOutboxProjection } from "../../src/webhooks/webhookOutbox.js"
import { completedCallCommands, makeMiniCallViews, readAllEvents, runCommands } from "./callRecording.js"
import { makeEndpointRuntime } from "./endpointRuntime.js"
import type { EndpointRuntime } from "./endpointRuntime.js"
import { eventually, startReceiver, verifyRequest } from "../fixtures/httpReceiver.js"
import type { Receiver, Respond } from "../fixtures/httpReceiver.js"

interface Instance {
  readonly name: string
  readonly db: SqliteDatabase
  readonly endpoints: EndpointRuntime
  claims: SharedDeliveryClaims | null
  dispatcher: RunningWebhookDispatcher | null
}

let dir: string
let store: EventStoreService
let a: Instance
let b: Instance
const cleanups: Array<() => Promise<void> | void> = []

const openInstance = (name: string): Instance => {
  const db = openSqliteDatabase(join(dir, `${name}.db`))
  const endpoints = makeEndpointRuntime(db, store)
  const instance: Instance = { name, db, endpoints, claims: null, dispatcher: null }
  cleanups.push(() => {
    db.close()
  }, () => endpoints.dispose(), () => instance.dispatcher?.stop())
  return instance
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "call-ledger-claims-"))
  store = makeMemoryEventStore()
  a = openInstance("a")
  b = openInstance("b")
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  rmSync(dir, { recursive: true, force: true })
})

const receiver = async (respond?: Respond): Promise<Receiver> => {
  const r = await startReceiver(respond)
  cleanups.push(r.close)
  return r
}

/** Registers an endpoint through A and waits until B has it too. */
const endpoint = async (url: string): Promise<WebhookEndpoint> => {
  const ep = await a.endpoints.ok(createWebhookEndpoint({ url }))
  await eventually(() => inDb(b, listWebhookEndpoints()).some((e) => e.id === ep.id), 2_000, "endpoint on B")
  return ep
}

/** Records completed calls, then runs each instance's outbox over them (as its projection runner would). */
const recordCalls = async (...callIds: ReadonlyArray<string>) => {
  for (const callId of callIds) await runCommands(store, completedCallCommands(callId))
  const events = await readAllEvents(store)
  for (const instance of [a, b]) {
    const views = makeMiniCallViews()
    const outbox = webhookOutboxProjection({ loadCallView: views.loadCallView })(instance.db)
    instance.db.transaction(() => {
      for (const event of events) {
        views.project(event)
        if (outbox.eventTypes.has(event.type)) outbox.apply(event)
      }
    })()
  }
}

const fast: WebhookDispatcherOptions = { retryScheduleMillis: [300], jitter: 0, timeoutMillis: 2_000, pollIntervalMillis: 50, shutdownGraceMillis: 50 }

const start = (instance: Instance, options: { readonly leaseMillis?: number } & WebhookDispatcherOptions = {}) => {
  const { leaseMillis, ...dispatcherOptions } = options
  const claims = makeSharedDeliveryClaims(store, { instance: instance.name, leaseMillis: leaseMillis ?? 2_000, recheckMillis: 50 })
  instance.claims = claims
  instance.dispatcher = startWebhookDispatcher(instance.db, {
    ...fast,
    ...dispatcherOptions,
    claim: claims.claim,
    completed: claims.completed,
    reopen: claims.reopen
  })
  return instance.dispatcher
}

const inDb = <A, E>(instance: Instance, effect: Effect.Effect<A, E, LedgerDatabase>) =>
  Effect.runSync(Effect.provideService(effect, LedgerDatabase, instance.db))
const deliveries = (instance: Instance, ep: WebhookEndpoint) => inDb(instance, listWebhookDeliveries({ endpointId: ep.id, limit: 200 }))
const claimStream = (deliveryId: string) => Effect.runPromise(store.readStream(webhookDeliveryStreamId(deliveryId)))
const ids = (r: Receiver) => r.requests.map((q) => String(q.headers["webhook-id"]))

describe("webhook deliveries shared by claims in the log", () => {
  it("two instances with the same deliveries send each exactly once, and both rows end delivered", async () => {
    const r = await receiver(() => ({ status: 200, delayMillis: 30 }))
    const ep = await endpoint(r.url)
    const calls = Array.from({ length: 12 }, (_, i) => `cal_shared${i}`)
    await recordCalls(...calls)
    expect(deliveries(a, ep).map((d) => d.id).sort()).toEqual(deliveries(b, ep).map((d) => d.id).sort())

    start(a)
    start(b)
    await eventually(() => [a, b].every((i) => deliveries(i, ep).every((d) => d.status === "delivered")), 5_000, "delivered on both")
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(ids(r).sort()).toEqual(deliveries(a, ep).map((d) => d.id).sort())
    for (const q of r.requests) expect(verifyRequest(ep.secret, q)).toMatchObject({ type: "call.completed" })

    const senders = new Set<string>()
    for (const d of deliveries(a, ep)) {
      const events = await claimStream(d.id)
      expect(events.map((e) => e.type)).toEqual(["DeliveryClaimed", "DeliveryCompleted"])
      const sender = (events[0]!.data as { instance: string }).instance
      senders.add(sender)
      // The instance that did not send copied the attempt from the log.
      for (const instance of [a, b]) {
        expect(inDb(instance, getWebhookDelivery(d.id))).toMatchObject({ status: "delivered", attemptCount: 1, attempts: [{ attempt: 1, statusCode: 200 }] })
      }
    }
    expect([...senders].every((name) => name === "a" || name === "b")).toBe(true)
  })

  it("a claim whose lease runs out (its instance died mid-delivery) is taken over with the same webhook-id", async () => {
    const r = await receiver((_req, i) => (i === 0 ? "hang" : { status: 200 }))
    const ep = await endpoint(r.url)
    await recordCalls("cal_lease")
    const [delivery] = deliveries(a, ep)
    start(a, { leaseMillis: 600, timeoutMillis: 5_000 })
    await eventually(() => r.requests.length === 1, 2_000, "A's request")
    // A is cut off mid-request: nothing recorded, its claim stays in the log until the lease ends.
    await a.dispatcher!.stop()
    const startedB = Date.now()
    start(b, { leaseMillis: 600 })
    await eventually(() => deliveries(b, ep)[0]?.status === "delivered", 5_000, "B's delivery")
    expect(Date.now() - startedB).toBeGreaterThanOrEqual(400)
    expect(ids(r)).toEqual([delivery!.id, delivery!.id])
    verifyRequest(ep.secret, r.requests[1]!)
    const events = await claimStream(delivery!.id)
    expect(events.map((e) => [e.type, (e.data as { instance: string }).instance, (e.data as { attempt: number }).attempt])).toEqual([
      ["DeliveryClaimed", "a", 1], ["DeliveryClaimed", "b", 2], ["DeliveryCompleted", "b", 2]
    ])
    expect(events[1]!.revision).toBe(1n)
    expect(inDb(b, getWebhookDelivery(delivery!.id))).toMatchObject({ attemptCount: 2, attempts: [{ attempt: 2, statusCode: 200 }] })
  })

  it("a failed attempt's retry time is shared: the retry goes out once, after the delay, from either instance", async () => {
    const r = await receiver((_req, i) => (i === 0 ? { status: 500, body: "boom" } : { status: 200 }))
    const ep = await endpoint(r.url)
    await recordCalls("cal_retry")
    start(a)
    start(b)
    await eventually(() => [a, b].every((i) => deliveries(i, ep)[0]?.status === "delivered"), 5_000, "delivered on both")
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(r.requests).toHaveLength(2)
    expect(r.requests[1]!.receivedAt - r.requests[0]!.receivedAt).toBeGreaterThanOrEqual(250)
    const id = deliveries(a, ep)[0]!.id
    const events = await claimStream(id)
    expect(events.map((e) => e.type)).toEqual(["DeliveryClaimed", "DeliveryAttemptFailed", "DeliveryClaimed", "DeliveryCompleted"])
    for (const instance of [a, b]) {
      expect(inDb(instance, getWebhookDelivery(id))).toMatchObject({
        status: "delivered",
        attemptCount: 2,
        attempts: [{ attempt: 1, statusCode: 500, responseSnippet: "boom" }, { attempt: 2, statusCode: 200 }]
      })
    }
  })

  it("a delivery given up by one instance is failed on the other without a request, and a reopen lets it go again", async () => {
    const r = await receiver(() => ({ status: 503 }))
    const ep = await endpoint(r.url)
    await recordCalls("cal_gave_up")
    start(a, { retryScheduleMillis: [] })
    await eventually(() => deliveries(a, ep)[0]?.status === "failed", 3_000, "failed on A")
    start(b, { retryScheduleMillis: [] })
    await eventually(() => deliveries(b, ep)[0]?.status === "failed", 3_000, "failed on B")
    expect(r.requests).toHaveLength(1)

    const id = deliveries(a, ep)[0]!.id
    await a.claims!.reopen(id)
    const reopened = foldDeliveryClaim(await claimStream(id))
    expect(reopened).toMatchObject({ phase: "open", claims: 1, scheduleStep: 0 })
    expect(await b.claims!.claim({ deliveryId: id, endpointId: ep.id, attempt: 1 })).toMatchObject({ _tag: "Claimed", attempt: 2, scheduleStep: 0 })
    expect(await a.claims!.claim({ deliveryId: id, endpointId: ep.id, attempt: 1 })).toMatchObject({ _tag: "Busy" })
  })

  it("of two claims racing for one revision, the store lets exactly one through", async () => {
    const ep = await endpoint("https://example.com/hooks")
    await recordCalls("cal_race")
    const id = deliveries(a, ep)[0]!.id
    const claims = Array.from({ length: 8 }, (_, i) => makeSharedDeliveryClaims(store, { instance: `i${i}`, leaseMillis: 10_000 }))
    const answers = await Promise.all(claims.map((c) => c.claim({ deliveryId: id, endpointId: ep.id, attempt: 1 })))
    expect(answers.filter((x) => x._tag === "Claimed")).toHaveLength(1)
    expect(answers.filter((x) => x._tag === "Busy")).toHaveLength(7)
    expect((await claimStream(id)).map((e) => e.type)).toEqual(["DeliveryClaimed"])
  })
})

import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import { EventStore } from "../../src/store/eventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { LedgerDatabase, openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { getWebhookDelivery, listWebhookDeliveries, retryWebhookDelivery } from "../../src/webhooks/webhookDeliveries.js"
import { makeWebhookDispatcher, startWebhookDispatcher, WebhookDispatcher, webhookDispatcherLayer } from "../../src/webhooks/webhookDispatcher.js"
import type { RunningWebhookDispatcher, WebhookDispatcherOptions } from "../../src/webhooks/webhookDispatcher.js"
import { createWebhookEndpoint, disableWebhookEndpoint, getWebhookEndpoint, rotateWebhookEndpointSecret } from "../../src/webhooks/webhookEndpoints.js"
import type { CreateWebhookEndpointInput, WebhookEndpoint } from "../../src/webhooks/webhookEndpoints.js"
import { webhookEndpointStreamId } from "../../src/webhooks/webhookEndpointEvents.js"
import { webhookOutboxProjection } from "../../src/webhooks/webhookOutbox.js"
import { completedCallCommands, makeMiniCallViews, readAllEvents, runCommands } from "./callRecording.js"
import { makeEndpointRuntime } from "./endpointRuntime.js"
import type { EndpointRuntime } from "./endpointRuntime.js"
import { eventually, startReceiver, verifyRequest } from "../fixtures/httpReceiver.js"
import type { Receiver, Respond } from "../fixtures/httpReceiver.js"

let dir: string
let dbPath: string
let db: SqliteDatabase
let store: EventStoreService
const cleanups: Array<() => Promise<void> | void> = []

let instance: EndpointRuntime

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "call-ledger-dispatch-"))
  dbPath = join(dir, "ledger.db")
  db = openSqliteDatabase(dbPath)
  store = makeMemoryEventStore()
  instance = makeEndpointRuntime(db, store)
  cleanups.push(() => instance.dispose())
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

const inDb = <A, E>(effect: Effect.Effect<A, E, LedgerDatabase>) => Effect.runSync(Effect.provideService(effect, LedgerDatabase, db))
const endpoint = (input: CreateWebhookEndpointInput) => instance.ok(createWebhookEndpoint(input))

const receiver = async (respond?: Respond): Promise<Receiver> => {
  const r = await startReceiver(respond)
  cleanups.push(r.close)
  return r
}

/** Records completed calls and runs them through the outbox (as the projection runner would). */
const recordCalls = async (...callIds: ReadonlyArray<string>) => {
  for (const callId of callIds) await runCommands(store, completedCallCommands(callId))
  const views = makeMiniCallViews()
  const outbox = webhookOutboxProjection({ loadCallView: views.loadCallView })(db)
  const events = await readAllEvents(store)
  db.transaction(() => {
    for (const event of events) {
      views.project(event)
      if (outbox.eventTypes.has(event.type)) outbox.apply(event)
    }
  })()
}

const fast: WebhookDispatcherOptions = { retryScheduleMillis: [50, 100], jitter: 0, timeoutMillis: 2_000, pollIntervalMillis: 100, shutdownGraceMillis: 200 }

const start = (options: WebhookDispatcherOptions = {}, on: SqliteDatabase = db): RunningWebhookDispatcher => {
  const dispatcher = startWebhookDispatcher(on, { ...fast, ...options })
  cleanups.push(dispatcher.stop)
  return dispatcher
}

const deliveriesTo = (ep: WebhookEndpoint) =>
  inDb(listWebhookDeliveries({ endpointId: ep.id, limit: 200 }))

const attemptsOf = (id: string) => inDb(getWebhookDelivery(id)).attempts
const header = (value: string | Array<string> | undefined) => String(value)

describe("webhook dispatcher", () => {
  it("sends one signed call.completed per subscribed endpoint, with the call view in data", async () => {
    const [a, b, c, d] = await Promise.all([receiver(), receiver(), receiver(), receiver()])
    const epA = await endpoint({ url: a.url })
    const epB = await endpoint({ url: b.url })
    await endpoint({ url: c.url, eventTypes: ["call.transferred"] })
    const epD = await endpoint({ url: d.url })
    await instance.ok(disableWebhookEndpoint(epD.id))
    await recordCalls("cal_9Hm3kP7qZ")
    start()

    await eventually(() => a.requests.length === 1 && b.requests.length === 1, 5_000, "both deliveries")
    for (const [r, ep] of [[a, epA], [b, epB]] as const) {
      const request = r.requests[0]!
      expect(request.method).toBe("POST")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(request.headers["user-agent"]).toBe("call-ledger")
      const payload = verifyRequest(ep.secret, request)
      expect(payload).toMatchObject({
        type: "call.completed",
        data: { id: "cal_9Hm3kP7qZ", status: "completed", disposition: "escalated", duration_seconds: 142 }
      })
      expect(() => verifyRequest(ep === epA ? epB.secret : epA.secret, request)).toThrow()
      await eventually(() => deliveriesTo(ep)[0]?.status === "delivered", 2_000, "delivered status")
      const [delivery] = deliveriesTo(ep)
      expect(header(request.headers["webhook-id"])).toBe(delivery!.id)
      expect(delivery).toMatchObject({ attemptCount: 1, lastStatusCode: 200, nextAttemptAt: null })
      expect(attemptsOf(delivery!.id)).toMatchObject([{ attempt: 1, statusCode: 200, error: null, responseSnippet: "ok" }])
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(c.requests).toHaveLength(0)
    expect(d.requests).toHaveLength(0)
    expect(a.requests).toHaveLength(1)
  })

  it("finds the due deliveries of the few endpoints that have any among many, and the next retry among theirs", async () => {
    const failing = await receiver(() => ({ status: 500 }))
    const healthy = await receiver()
    const epFailing = await endpoint({ url: failing.url })
    const epHealthy = await endpoint({ url: healthy.url })
    await recordCalls("cal_many1", "cal_many2")
    // Endpoints created after the calls have nothing pending; the disabled one never takes any.
    for (let i = 0; i < 25; i++) await endpoint({ url: healthy.url })
    await instance.ok(disableWebhookEndpoint((await endpoint({ url: healthy.url })).id))
    const engine = makeWebhookDispatcher(db, { ...fast, retryScheduleMillis: [60_000] })
    cleanups.push(engine.stop)

    expect(engine.tick()).toBe(4)
    await eventually(() => failing.requests.length === 2 && deliveriesTo(epHealthy).every((d) => d.status === "delivered"), 5_000, "first attempts")
    await eventually(() => deliveriesTo(epFailing).every((d) => d.attemptCount === 1 && d.nextAttemptAt !== null), 2_000, "retries scheduled")
    expect(healthy.requests).toHaveLength(2)
    expect(engine.tick()).toBe(0)
    const retryIn = engine.nextDueInMillis()
    expect(retryIn).toBeGreaterThan(55_000)
    expect(retryIn).toBeLessThanOrEqual(60_000)
  })

  it("queues exactly the due deliveries of enabled endpoints wherever their ids fall, and takes the earliest retry of theirs", async () => {
    const r = await receiver()
    const at = Date.now()
    const addEndpoint = db.prepare("INSERT INTO webhook_endpoints (id, url, secret, event_types, enabled, created_at) VALUES (?, ?, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '[\"call.completed\"]', ?, ?)")
    const addDelivery = db.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, call_id, body, status, next_attempt_at, created_at)
       VALUES (?, ?, ?, 'call.completed', 'cal_walk', '{}', ?, ?, ?)`
    )
    db.transaction(() => {
      for (const id of ["ep_a", "ep_m", "ep_z"]) addEndpoint.run(id, r.url, 1, at)
      addEndpoint.run("ep_b", r.url, 0, at)
      addDelivery.run("msg_a_done", "ep_a", "evt_1", "delivered", null, at)
      addDelivery.run("msg_b_due", "ep_b", "evt_1", "pending", at - 1_000, at)
      addDelivery.run("msg_b_soon", "ep_b", "evt_2", "pending", at + 10_000, at)
      addDelivery.run("msg_m_due", "ep_m", "evt_1", "pending", at - 1_000, at)
      addDelivery.run("msg_m_later", "ep_m", "evt_2", "pending", at + 30_000, at)
      addDelivery.run("msg_z_later", "ep_z", "evt_1", "pending", at + 60_000, at)
      addDelivery.run("msg_z_due", "ep_z", "evt_2", "pending", at - 500, at)
    })()
    const engine = makeWebhookDispatcher(db, fast)
    cleanups.push(engine.stop)

    expect(engine.tick()).toBe(2)
    await eventually(() => r.requests.length === 2, 5_000, "the two due deliveries")
    expect(r.requests.map((q) => header(q.headers["webhook-id"])).sort()).toEqual(["msg_m_due", "msg_z_due"])
    // The disabled endpoint's retry in 10 s is not the next one; ep_m's in 30 s is.
    const next = engine.nextDueInMillis()
    expect(next).toBeGreaterThan(25_000)
    expect(next).toBeLessThanOrEqual(30_000)
  })

  it("retries after a 500 and a timeout with the same webhook-id and a fresh timestamp, then succeeds", async () => {
    const r = await receiver((_req, i) => (i === 0 ? { status: 500, body: "boom" } : i === 1 ? "hang" : { status: 204 }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_retry")
    start({ retryScheduleMillis: [1_100, 50], timeoutMillis: 300 })

    await eventually(() => deliveriesTo(ep)[0]?.status === "delivered", 5_000, "delivery after retries")
    expect(r.requests).toHaveLength(3)
    const ids = new Set(r.requests.map((q) => header(q.headers["webhook-id"])))
    expect(ids).toEqual(new Set([deliveriesTo(ep)[0]!.id]))
    for (const q of r.requests) verifyRequest(ep.secret, q)
    const stamps = r.requests.map((q) => Number(q.headers["webhook-timestamp"]))
    expect(stamps[1]).toBeGreaterThan(stamps[0]!)
    const attempts = attemptsOf(deliveriesTo(ep)[0]!.id)
    expect(attempts.map((x) => x.statusCode)).toEqual([500, null, 204])
    expect(attempts[0]!.responseSnippet).toBe("boom")
    expect(attempts[1]!.error).toMatch(/ETIMEDOUT|Timeout/i)
    expect(attempts[1]!.durationMs).toBeGreaterThanOrEqual(250)
    attempts.forEach((x, i) => expect(Math.floor(Date.parse(x.startedAt) / 1000)).toBe(stamps[i]))
    expect(Date.parse(attempts[1]!.startedAt) - Date.parse(attempts[0]!.startedAt)).toBeGreaterThanOrEqual(1_100)
  })

  it("gives up after the last delay of the schedule: status failed, every attempt recorded", async () => {
    const r = await receiver(() => ({ status: 503 }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_fail")
    start()
    await eventually(() => deliveriesTo(ep)[0]?.status === "failed", 5_000, "failed status")
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(r.requests).toHaveLength(3)
    const delivery = deliveriesTo(ep)[0]!
    expect(delivery).toMatchObject({ attemptCount: 3, lastStatusCode: 503, nextAttemptAt: null })
    const attempts = attemptsOf(delivery.id)
    expect(attempts.map((x) => [x.attempt, x.statusCode])).toEqual([[1, 503], [2, 503], [3, 503]])
    const gaps = [1, 2].map((i) => Date.parse(attempts[i]!.startedAt) - Date.parse(attempts[i - 1]!.startedAt))
    expect(gaps[0]).toBeGreaterThanOrEqual(50)
    expect(gaps[1]).toBeGreaterThanOrEqual(100)
  })

  it("a 410 Gone disables the endpoint and cancels its other pending deliveries", async () => {
    const r = await receiver(() => ({ status: 410 }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_gone1", "cal_gone2")
    start({ concurrencyPerEndpoint: 1 })
    await eventually(() => deliveriesTo(ep).every((d) => d.status !== "pending"), 5_000, "no pending deliveries")
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(r.requests).toHaveLength(1)
    expect(deliveriesTo(ep).map((d) => d.status).sort()).toEqual(["canceled", "failed"])
    expect(inDb(getWebhookEndpoint(ep.id))).toMatchObject({ enabled: false, disabledReason: "gone" })
  })

  // The dispatcher on the API's connection, or on a connection of its own to the file, as
  // another process would be: the endpoint's change count is kept in the file for that case.
  it.each([
    ["on the same connection", () => db],
    ["on another connection to the file (another process)", () => {
      const other = openSqliteDatabase(dbPath)
      cleanups.push(() => {
        if (other.open) other.close()
      })
      return other
    }]
  ] as const)("deliveries queued when their endpoint is disabled are not sent, and queued ones are signed with a secret rotated meanwhile: dispatcher %s", async (_, dispatcherDb) => {
    const slow = () => ({ status: 200, delayMillis: 300 })
    const rDisabled = await receiver(slow)
    const rRotated = await receiver(slow)
    const epDisabled = await endpoint({ url: rDisabled.url })
    const epRotated = await endpoint({ url: rRotated.url })
    await recordCalls("cal_q1", "cal_q2", "cal_q3")
    // One slot per endpoint: the second and third deliveries wait in the queue, already read.
    start({ concurrencyPerEndpoint: 1 }, dispatcherDb())
    await eventually(() => rDisabled.requests.length === 1 && rRotated.requests.length === 1, 2_000, "first requests")
    await instance.ok(disableWebhookEndpoint(epDisabled.id))
    const rotated = await instance.ok(rotateWebhookEndpointSecret(epRotated.id))
    await eventually(() => deliveriesTo(epRotated).every((d) => d.status === "delivered"), 5_000, "rotated endpoint's deliveries")
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(rDisabled.requests).toHaveLength(1)
    expect(deliveriesTo(epDisabled).map((d) => d.status).sort()).toEqual(["canceled", "canceled", "delivered"])
    expect(rRotated.requests).toHaveLength(3)
    for (const q of rRotated.requests.slice(1)) {
      verifyRequest(rotated.secret, q)
      expect(header(q.headers["webhook-signature"]).split(" ")).toHaveLength(2)
    }
  })

  it("a dead endpoint that never answers does not slow deliveries to a healthy one", async () => {
    const dead = await receiver(() => "hang")
    const healthy = await receiver()
    const epDead = await endpoint({ url: dead.url })
    const epHealthy = await endpoint({ url: healthy.url })
    await recordCalls("cal_d1", "cal_d2", "cal_d3", "cal_d4", "cal_d5", "cal_d6")
    const started = Date.now()
    const dispatcher = start({ timeoutMillis: 5_000, concurrencyPerEndpoint: 4, maxConcurrency: 6, shutdownGraceMillis: 50 })
    await eventually(() => deliveriesTo(epHealthy).every((d) => d.status === "delivered"), 1_500, "healthy deliveries")
    expect(Date.now() - started).toBeLessThan(1_500)
    expect(healthy.requests).toHaveLength(6)
    // The dead endpoint holds at most its own 4 slots, and none of its attempts has finished.
    expect(dead.requests).toHaveLength(4)
    await dispatcher.stop()
    // Cut off by shutdown: not recorded, still pending for the next dispatcher.
    expect(deliveriesTo(epDead).map((d) => [d.status, d.attemptCount])).toEqual(Array(6).fill(["pending", 0]))
  })

  it("a dispatcher stopped midway and a new one on the same file deliver every pending delivery with the same webhook-id", async () => {
    const r = await receiver(() => ({ status: 200, delayMillis: 150 }))
    const ep = await endpoint({ url: r.url })
    const calls = Array.from({ length: 8 }, (_, i) => `cal_restart${i}`)
    await recordCalls(...calls)
    const ids = new Set(deliveriesTo(ep).map((d) => d.id))
    expect(ids.size).toBe(8)

    const first = start({ concurrencyPerEndpoint: 2, shutdownGraceMillis: 20 })
    await eventually(() => r.requests.length >= 1, 2_000, "first request")
    await first.stop()
    db.close()
    const delivered = r.requests.length
    expect(delivered).toBeLessThan(8)

    db = openSqliteDatabase(dbPath)
    const pendingAfterStop = deliveriesTo(ep).filter((d) => d.status === "pending").length
    expect(pendingAfterStop).toBeGreaterThan(0)
    start({ concurrencyPerEndpoint: 2 })
    await eventually(() => deliveriesTo(ep).every((d) => d.status === "delivered"), 5_000, "all delivered")
    const seen = new Set(r.requests.map((q) => header(q.headers["webhook-id"])))
    expect(seen).toEqual(ids)
    for (const q of r.requests) expect(verifyRequest(ep.secret, q)).toMatchObject({ type: "call.completed" })
  })

  it("a clean stop waits for the attempts in flight and records them", async () => {
    const r = await receiver(() => ({ status: 200, delayMillis: 300 }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_graceful")
    const dispatcher = start({ shutdownGraceMillis: 3_000 })
    await eventually(() => r.requests.length === 1, 2_000, "request in flight")
    await dispatcher.stop()
    expect(deliveriesTo(ep)[0]).toMatchObject({ status: "delivered", attemptCount: 1 })
  })

  it("does not follow a redirect", async () => {
    const elsewhere = await receiver()
    const r = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_redirect")
    start({ retryScheduleMillis: [] })
    await eventually(() => deliveriesTo(ep)[0]?.status === "failed", 3_000, "failed status")
    expect(r.requests).toHaveLength(1)
    expect(elsewhere.requests).toHaveLength(0)
    expect(attemptsOf(deliveriesTo(ep)[0]!.id).map((x) => x.statusCode)).toEqual([302])
  })

  it("refuses private-network addresses when filtering is on, and loopback too when not allowed", async () => {
    const local = await receiver()
    const epPrivate = await endpoint({ url: "http://10.255.255.1:8080/hooks" })
    const epMetadata = await endpoint({ url: "http://169.254.169.254/latest" })
    const epLocal = await endpoint({ url: local.url })
    await recordCalls("cal_ssrf")
    start({ retryScheduleMillis: [], requestFiltering: { allowLoopback: false } })
    await eventually(
      () => [epPrivate, epMetadata, epLocal].every((ep) => deliveriesTo(ep)[0]?.status === "failed"),
      3_000,
      "refused deliveries"
    )
    for (const ep of [epPrivate, epMetadata, epLocal]) {
      const [attempt] = attemptsOf(deliveriesTo(ep)[0]!.id)
      expect(attempt).toMatchObject({ statusCode: null, error: expect.stringMatching(/not allowed/) })
      expect(attempt!.durationMs).toBeLessThan(1_000)
    }
    expect(local.requests).toHaveLength(0)
  })

  it("redelivers by hand with the same webhook-id, and signs with the old and new secret after a rotation", async () => {
    let up = false
    const r = await receiver(() => ({ status: up ? 200 : 500 }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_manual")
    const dispatcher = start({ retryScheduleMillis: [] })
    await eventually(() => deliveriesTo(ep)[0]?.status === "failed", 3_000, "failed status")
    const id = deliveriesTo(ep)[0]!.id

    const rotated = await instance.ok(rotateWebhookEndpointSecret(ep.id))
    up = true
    expect(inDb(retryWebhookDelivery(id))).toMatchObject({ id, status: "pending" })
    dispatcher.wake()
    await eventually(() => deliveriesTo(ep)[0]?.status === "delivered", 3_000, "redelivered")
    expect(r.requests.map((q) => header(q.headers["webhook-id"]))).toEqual([id, id])
    const last = r.requests[1]!
    verifyRequest(rotated.secret, last)
    verifyRequest(ep.secret, last)
    expect(header(last.headers["webhook-signature"]).split(" ")).toHaveLength(2)
    expect(attemptsOf(id).map((x) => x.statusCode)).toEqual([500, 200])
  })

  it("asks claim before each attempt and leaves a delivery claimed elsewhere alone", async () => {
    const r = await receiver()
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_claim")
    let mine = false
    const claims: Array<unknown> = []
    start({ claim: (c) => { claims.push(c); return mine } })
    await eventually(() => claims.length >= 2, 2_000, "claims")
    expect(r.requests).toHaveLength(0)
    expect(deliveriesTo(ep)[0]).toMatchObject({ status: "pending", attemptCount: 0 })
    mine = true
    await eventually(() => deliveriesTo(ep)[0]?.status === "delivered", 2_000, "delivered after claim")
    expect(claims.at(-1)).toEqual({ deliveryId: deliveriesTo(ep)[0]!.id, endpointId: ep.id, attempt: 1 })
    expect(r.requests).toHaveLength(1)
  })

  it("runs as a scoped Layer that delivers and stops with its scope", async () => {
    const r = await receiver()
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_layer")
    const layer = webhookDispatcherLayer(fast).pipe(
      Layer.provide(Layer.mergeAll(Layer.succeed(LedgerDatabase, db), Layer.succeed(EventStore, store)))
    )
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const dispatcher = yield* WebhookDispatcher
          dispatcher.wake()
          yield* Effect.promise(() => eventually(() => r.requests.length === 1, 3_000, "layer delivery"))
        }).pipe(Effect.provide(layer))
      )
    )
    expect(verifyRequest(ep.secret, r.requests[0]!)).toMatchObject({ type: "call.completed" })
    await eventually(() => deliveriesTo(ep)[0]?.status === "delivered", 1_000, "delivered status")
  })

  it("as a Layer, records a 410 Gone in the log too, so every instance disables the endpoint", async () => {
    const r = await receiver(() => ({ status: 410 }))
    const ep = await endpoint({ url: r.url })
    await recordCalls("cal_layer_gone")
    const layer = webhookDispatcherLayer(fast).pipe(
      Layer.provide(Layer.mergeAll(Layer.succeed(LedgerDatabase, db), Layer.succeed(EventStore, store)))
    )
    const stream = () => Effect.runPromise(store.readStream(webhookEndpointStreamId(ep.id)))
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const dispatcher = yield* WebhookDispatcher
          dispatcher.wake()
          yield* Effect.promise(() => eventually(() => r.requests.length === 1, 3_000, "the 410"))
          yield* Effect.promise(async () => {
            const deadline = Date.now() + 2_000
            while ((await stream()).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
          })
        }).pipe(Effect.provide(layer))
      )
    )
    const events = await stream()
    expect(events.map((e) => e.type)).toEqual(["WebhookEndpointRegistered", "WebhookEndpointDisabled"])
    expect(events[1]!.data).toMatchObject({ endpointId: ep.id, reason: "gone" })
    expect(inDb(getWebhookEndpoint(ep.id))).toMatchObject({ enabled: false, disabledReason: "gone" })
  })
})

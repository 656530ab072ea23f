import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import type { EventStoreService, RecordedEvent } from "../../src/store/eventStore.js"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { createWebhookEndpoint, disableWebhookEndpoint } from "../../src/webhooks/webhookEndpoints.js"
import type { CreateWebhookEndpointInput } from "../../src/webhooks/webhookEndpoints.js"
import { deliveryIdFor, webhookOutboxProjection } from "../../src/webhooks/webhookOutbox.js"
import type { ProjectionHandler } from "../../src/projections/projection.js"
import { completedCallCommands, makeMiniCallViews, readAllEvents, runCommands } from "./callRecording.js"
import { makeEndpointRuntime } from "./endpointRuntime.js"
import type { EndpointRuntime } from "./endpointRuntime.js"

let dir: string
let db: SqliteDatabase
let store: EventStoreService
let instance: EndpointRuntime

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "call-ledger-outbox-"))
  db = openSqliteDatabase(join(dir, "ledger.db"))
  store = makeMemoryEventStore()
  instance = makeEndpointRuntime(db, store)
})
afterEach(async () => {
  await instance.dispose()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

const endpoint = (input: CreateWebhookEndpointInput) => instance.ok(createWebhookEndpoint(input))

type MiniCallViews = ReturnType<typeof makeMiniCallViews>

/**
 * Feeds events the way the projection runner does: call view first, then the outbox, in one
 * transaction, after `first` (another projection's writes in the same batch).
 */
const feed = (outbox: ProjectionHandler, views: MiniCallViews, events: ReadonlyArray<RecordedEvent>, first?: () => void) =>
  db.transaction(() => {
    first?.()
    for (const event of events) {
      views.project(event)
      if (outbox.eventTypes.has(event.type)) outbox.apply(event)
    }
  })()

/** A new outbox fed `events` (see `feed`). */
const project = (events: ReadonlyArray<RecordedEvent>, views = makeMiniCallViews(), onDeliveryWritten?: () => void) => {
  const outbox = webhookOutboxProjection({ loadCallView: views.loadCallView, onDeliveryWritten })(db)
  feed(outbox, views, events)
  return outbox
}

interface Row {
  id: string
  endpoint_id: string
  event_id: string
  event_type: string
  body: string
  status: string
  attempt_count: number
  next_attempt_at: number
}
const deliveries = () => db.prepare("SELECT * FROM webhook_deliveries ORDER BY rowid").all() as Array<Row>

describe("webhook outbox projection", () => {
  it("writes one pending call.completed delivery per subscribed endpoint, with the call view as of the end", async () => {
    const a = await endpoint({ url: "https://a.example.com/hooks" })
    const b = await endpoint({ url: "https://b.example.com/hooks" })
    const answersOnly = await endpoint({ url: "https://c.example.com/hooks", eventTypes: ["call.answered"] })
    await runCommands(store, completedCallCommands("cal_one"))
    const events = await readAllEvents(store)
    project(events)

    const ended = events.find((e) => e.type === "CallEnded")!
    const completed = deliveries().filter((d) => d.event_type === "call.completed")
    expect(completed.map((d) => d.endpoint_id).sort()).toEqual([a.id, b.id].sort())
    for (const d of completed) {
      expect(d.id).toBe(deliveryIdFor(ended.eventId, d.endpoint_id))
      expect(d.id).toMatch(/^msg_[0-9a-f-]{36}$/)
      expect(d).toMatchObject({ status: "pending", attempt_count: 0, next_attempt_at: Date.parse(ended.metadata.recordedAt) })
      expect(d.body).toBe(JSON.stringify({
        type: "call.completed",
        timestamp: ended.metadata.recordedAt,
        data: { id: "cal_one", status: "completed", disposition: "escalated", duration_seconds: 142, revision: Number(ended.revision) }
      }))
    }
    const answered = deliveries().filter((d) => d.event_type === "call.answered")
    expect(answered.map((d) => d.endpoint_id)).toEqual([answersOnly.id])
    expect(JSON.parse(answered[0]!.body)).toMatchObject({ type: "call.answered", data: { status: "in_progress" } })
  })

  it("raises call.transcribed for the final transcript batch only, and the other types when subscribed", async () => {
    const all = await endpoint({
      url: "https://a.example.com/hooks",
      eventTypes: ["call.completed", "call.answered", "call.dispositioned", "call.transcribed", "call.transferred"]
    })
    await runCommands(store, completedCallCommands("cal_two"))
    project(await readAllEvents(store))
    expect(deliveries().map((d) => d.event_type)).toEqual(["call.answered", "call.transcribed", "call.dispositioned", "call.completed"])
    expect(new Set(deliveries().map((d) => d.endpoint_id))).toEqual(new Set([all.id]))
  })

  it("skips disabled endpoints and endpoints created after the event was recorded", async () => {
    const disabled = await endpoint({ url: "https://a.example.com/hooks" })
    await instance.ok(disableWebhookEndpoint(disabled.id))
    await runCommands(store, completedCallCommands("cal_old"))
    await new Promise((resolve) => setTimeout(resolve, 5))
    await endpoint({ url: "https://late.example.com/hooks" })
    project(await readAllEvents(store))
    expect(deliveries()).toEqual([])
  })

  it("is idempotent under replay, and reset never deletes deliveries; only new rows are announced (onDeliveryWritten)", async () => {
    await endpoint({ url: "https://a.example.com/hooks" })
    await runCommands(store, completedCallCommands("cal_three"))
    const events = await readAllEvents(store)
    let announced = 0
    const outbox = project(events, makeMiniCallViews(), () => announced++)
    db.prepare("UPDATE webhook_deliveries SET status = 'delivered', attempt_count = 1").run()
    const before = deliveries()
    expect(before).toHaveLength(1)
    expect(announced).toBe(1)

    outbox.reset(null)
    project(events, makeMiniCallViews(), () => announced++)
    expect(deliveries()).toEqual(before)
    expect(announced).toBe(1)
  })

  it("after a reset, writes no delivery for an event it applied before, even one deleted since; later events as ever", async () => {
    const hooks = await endpoint({ url: "https://a.example.com/hooks" })
    await runCommands(store, completedCallCommands("cal_first"))
    const first = await readAllEvents(store)
    const outbox = project(first)
    expect(deliveries()).toHaveLength(1)
    // Past its retention (webhookRetention.ts): deleted.
    db.prepare("DELETE FROM webhook_deliveries").run()

    db.transaction(() => outbox.reset(first[first.length - 1]!.position))()
    await runCommands(store, completedCallCommands("cal_second"))
    const all = await readAllEvents(store)
    feed(outbox, makeMiniCallViews(), all)
    const second = all.slice(first.length).find((e) => e.type === "CallEnded")!
    expect(deliveries().map((d) => d.id)).toEqual([deliveryIdFor(second.eventId, hooks.id)])

    // A reset with an earlier checkpoint (a rebuild cut short, then another) keeps the furthest mark,
    // and so does a new outbox on the file (the next process).
    db.prepare("DELETE FROM webhook_deliveries").run()
    db.transaction(() => outbox.reset(first[0]!.position))()
    feed(webhookOutboxProjection({ loadCallView: makeMiniCallViews().loadCallView })(db), makeMiniCallViews(), all)
    expect(deliveries().map((d) => d.id)).toEqual([deliveryIdFor(second.eventId, hooks.id)])
  })

  it("a batch rolled back after it passed the high-water mark leaves the mark where it was (discard)", async () => {
    const hooks = await endpoint({ url: "https://a.example.com/hooks" })
    await runCommands(store, completedCallCommands("cal_marked"))
    const first = await readAllEvents(store)
    const outbox = project(first)
    db.prepare("DELETE FROM webhook_deliveries").run()
    db.transaction(() => outbox.reset(first[first.length - 1]!.position))()
    await runCommands(store, completedCallCommands("cal_new"))
    const all = await readAllEvents(store)

    // The runner's batch: everything from the start, rolled back after the outbox passed the mark.
    expect(() => db.transaction(() => {
      feed(outbox, makeMiniCallViews(), all)
      throw new Error("a later projection failed")
    })()).toThrow("a later projection failed")
    outbox.discard?.()
    expect(deliveries()).toEqual([])

    feed(outbox, makeMiniCallViews(), all)
    const ended = all.slice(first.length).find((e) => e.type === "CallEnded")!
    expect(deliveries().map((d) => d.id)).toEqual([deliveryIdFor(ended.eventId, hooks.id)])
  })

  it("sees endpoints added, disabled or added by another connection while it runs (one outbox across them)", async () => {
    const views = makeMiniCallViews()
    const outbox = webhookOutboxProjection({ loadCallView: views.loadCallView })(db)
    const projectWithIt = async (callId: string, first?: () => void) => {
      const before = (await readAllEvents(store)).length
      await runCommands(store, completedCallCommands(callId))
      feed(outbox, views, (await readAllEvents(store)).slice(before), first)
    }
    const completedTo = () => deliveries().filter((d) => d.event_type === "call.completed").map((d) => d.endpoint_id)

    const first = await endpoint({ url: "https://first.example.com/hooks" })
    await projectWithIt("cal_seen1")
    const second = await endpoint({ url: "https://second.example.com/hooks" })
    await instance.ok(disableWebhookEndpoint(first.id))
    await projectWithIt("cal_seen2")
    // A row written by another connection to the file (another process, e.g. a CLI).
    const other = openSqliteDatabase(join(dir, "ledger.db"))
    other.prepare("INSERT INTO webhook_endpoints (id, url, secret, event_types, created_at) VALUES ('ep_other', 'https://other.example.com/hooks', ?, '[\"call.completed\"]', 0)")
      .run(first.secret)
    other.close()
    await projectWithIt("cal_seen3")

    // The third call's subscribers in the outbox's order, oldest endpoint first (ep_other's created_at is 0).
    expect(completedTo()).toEqual([first.id, second.id, "ep_other", second.id])

    // An endpoint written in the same transaction as the events after it, as the endpoints
    // projection writes one ahead of the outbox in the runner's batch.
    await projectWithIt("cal_seen4", () =>
      db.prepare("INSERT INTO webhook_endpoints (id, url, secret, event_types, created_at) VALUES ('ep_same_batch', 'https://same.example.com/hooks', ?, '[\"call.completed\"]', 0)")
        .run(first.secret))
    expect(completedTo().slice(4)).toEqual(["ep_other", "ep_same_batch", second.id])
  })

  it("ignores a call event when no endpoint subscribes (nothing written)", async () => {
    await runCommands(store, completedCallCommands("cal_four"))
    let loads = 0
    const outbox = webhookOutboxProjection({ loadCallView: () => { loads++; return null } })(db)
    for (const event of await readAllEvents(store)) outbox.apply(event)
    expect(loads).toBe(0)
    expect(deliveries()).toEqual([])
  })
})

import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { Webhook } from "standardwebhooks"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { webhookEndpointStreamId } from "../../src/webhooks/webhookEndpointEvents.js"
import {
  createWebhookEndpoint, disableWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints, publishLocalWebhookEndpoints,
  rotateWebhookEndpointSecret
} from "../../src/webhooks/webhookEndpoints.js"
import type { CreateWebhookEndpointInput } from "../../src/webhooks/webhookEndpoints.js"
import { ensureWebhookTables } from "../../src/webhooks/webhookTables.js"
import { makeEndpointRuntime } from "./endpointRuntime.js"
import type { EndpointRuntime } from "./endpointRuntime.js"

let dir: string
let db: SqliteDatabase
let store: EventStoreService
let instance: EndpointRuntime
const cleanups: Array<() => Promise<void> | void> = []

/** Another instance on the same log: its own file and projections. */
const otherInstance = (name: string) => {
  const otherDb = openSqliteDatabase(join(dir, `${name}.db`))
  const other = makeEndpointRuntime(otherDb, store)
  // Run in reverse: the runner stops before its file closes.
  cleanups.push(() => {
    otherDb.close()
  }, () => other.dispose())
  return { db: otherDb, ...other }
}

const streamOf = (id: string) => Effect.runPromise(store.readStream(webhookEndpointStreamId(id)))

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "call-ledger-endpoints-"))
  db = openSqliteDatabase(join(dir, "ledger.db"))
  store = makeMemoryEventStore()
  instance = makeEndpointRuntime(db, store)
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await instance.dispose()
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("webhook endpoints", () => {
  it("creates an endpoint subscribed to call.completed with a generated Standard Webhooks secret", async () => {
    const endpoint = await instance.ok(createWebhookEndpoint({ url: "https://example.com/hooks" }))
    expect(endpoint.id).toMatch(/^ep_[0-9a-f]{32}$/)
    expect(endpoint.eventTypes).toEqual(["call.completed"])
    expect(endpoint.enabled).toBe(true)
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(Buffer.from(endpoint.secret.slice(6), "base64")).toHaveLength(24)
    // The secret works with the receivers' library.
    const wh = new Webhook(endpoint.secret)
    const now = new Date()
    const signature = wh.sign("msg_1", now, "{}")
    expect(wh.verify("{}", { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": signature })).toEqual({})
    // Read-your-writes: the projection has the row by the time the write answers.
    expect(await instance.ok(getWebhookEndpoint(endpoint.id))).toEqual(endpoint)
  })

  it("keeps a valid given secret and the chosen event types", async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`
    const endpoint = await instance.ok(createWebhookEndpoint({
      url: "http://127.0.0.1:9000/x", secret, eventTypes: ["call.answered", "call.transcribed", "call.answered"], description: "crm"
    }))
    expect(endpoint.secret).toBe(secret)
    expect(endpoint.eventTypes).toEqual(["call.answered", "call.transcribed"])
    expect(endpoint.description).toBe("crm")
    expect(await instance.ok(getWebhookEndpoint(endpoint.id))).toEqual(endpoint)
  })

  it.each<[string, CreateWebhookEndpointInput]>([
    ["url", { url: "ftp://example.com/x" }],
    ["url", { url: "not a url" }],
    ["url", { url: "https://user:pw@example.com/" }],
    ["eventTypes", { url: "https://example.com", eventTypes: ["call.exploded"] }],
    ["eventTypes", { url: "https://example.com", eventTypes: [] }],
    ["secret", { url: "https://example.com", secret: "whsec_c2hvcnQ=" }],
    ["secret", { url: "https://example.com", secret: Buffer.alloc(24).toString("base64") }],
    ["description", { url: "https://example.com", description: "x".repeat(501) }]
  ])("refuses an invalid %s, appending nothing", async (field, input) => {
    const result = await instance.either(createWebhookEndpoint(input))
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "WebhookEndpointInvalid", field })
    expect(await instance.ok(listWebhookEndpoints({ includeDisabled: true }))).toEqual([])
    expect(await Effect.runPromise(store.readAll())).toEqual([])
  })

  it("deleting disables the endpoint, cancels its pending deliveries and hides it from the default list", async () => {
    const a = await instance.ok(createWebhookEndpoint({ url: "https://a.example.com" }))
    const b = await instance.ok(createWebhookEndpoint({ url: "https://b.example.com" }))
    db.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, call_id, body, status, next_attempt_at, created_at)
       VALUES ('msg_1', ?, 'e1', 'call.completed', 'cal_1', '{}', 'pending', 0, 0),
              ('msg_2', ?, 'e1', 'call.completed', 'cal_1', '{}', 'pending', 0, 0)`
    ).run(a.id, b.id)
    const disabled = await instance.ok(disableWebhookEndpoint(a.id))
    expect(disabled).toMatchObject({ id: a.id, enabled: false, disabledReason: "deleted" })
    expect((await instance.ok(listWebhookEndpoints())).map((e) => e.id)).toEqual([b.id])
    expect((await instance.ok(listWebhookEndpoints({ includeDisabled: true }))).map((e) => e.id).sort()).toEqual([a.id, b.id].sort())
    const statuses = db.prepare("SELECT id, status FROM webhook_deliveries ORDER BY id").all()
    expect(statuses).toEqual([{ id: "msg_1", status: "canceled" }, { id: "msg_2", status: "pending" }])
    // Idempotent: a second delete appends nothing.
    expect(await instance.ok(disableWebhookEndpoint(a.id))).toEqual(disabled)
    expect((await streamOf(a.id)).map((e) => e.type)).toEqual(["WebhookEndpointRegistered", "WebhookEndpointDisabled"])
    expect(await instance.either(disableWebhookEndpoint("ep_missing"))).toMatchObject({ left: { _tag: "WebhookEndpointNotFound", id: "ep_missing" } })
    expect(await instance.either(getWebhookEndpoint("ep_missing"))).toMatchObject({ left: { _tag: "WebhookEndpointNotFound" } })
  })

  it("rotates the secret, keeping the old one for a grace period", async () => {
    const endpoint = await instance.ok(createWebhookEndpoint({ url: "https://example.com" }))
    const rotated = await instance.ok(rotateWebhookEndpointSecret(endpoint.id))
    expect(rotated.secret).not.toBe(endpoint.secret)
    expect(rotated.secret).toMatch(/^whsec_/)
    const row = db.prepare("SELECT secret, previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = ?").get(endpoint.id) as {
      secret: string
      previous_secret: string
      previous_secret_until: number
    }
    expect(row.secret).toBe(rotated.secret)
    expect(row.previous_secret).toBe(endpoint.secret)
    expect(row.previous_secret_until).toBeGreaterThan(Date.now() + 23 * 3_600_000)
    expect(await instance.either(rotateWebhookEndpointSecret(endpoint.id, { secret: "whsec_bad" }))).toMatchObject({
      left: { _tag: "WebhookEndpointInvalid", field: "secret" }
    })
    expect(await instance.either(rotateWebhookEndpointSecret("ep_missing"))).toMatchObject({ left: { _tag: "WebhookEndpointNotFound" } })
  })

  it("writes every change to the endpoint's stream in the log", async () => {
    const endpoint = await instance.ok(createWebhookEndpoint({ url: "https://example.com/hooks", description: "crm" }))
    const rotated = await instance.ok(rotateWebhookEndpointSecret(endpoint.id, { previousSecretGraceMillis: 0 }))
    await instance.ok(disableWebhookEndpoint(endpoint.id))
    const events = await streamOf(endpoint.id)
    expect(events.map((e) => [e.type, e.revision])).toEqual([
      ["WebhookEndpointRegistered", 0n], ["WebhookEndpointSecretRotated", 1n], ["WebhookEndpointDisabled", 2n]
    ])
    expect(events[0]!.data).toEqual({
      endpointId: endpoint.id, url: "https://example.com/hooks", secret: endpoint.secret, eventTypes: ["call.completed"],
      description: "crm", createdAt: endpoint.createdAt
    })
    expect(events[1]!.data).toMatchObject({ secret: rotated.secret, previousSecret: null, previousSecretUntil: null })
    expect(events[2]!.data).toMatchObject({ endpointId: endpoint.id, reason: "deleted" })
    expect(events[0]!.metadata.recordedAt).toBe(endpoint.createdAt)
  })

  it("an endpoint registered through one instance is known to another on the same log, and a delete through the other reaches both", async () => {
    const a = await instance.ok(createWebhookEndpoint({ url: "https://a.example.com" }))
    const b = otherInstance("b")
    await eventuallyAsync(async () => (await b.ok(listWebhookEndpoints())).length === 1)
    expect(await b.ok(getWebhookEndpoint(a.id))).toEqual(a)

    ensureWebhookTables(db)
    db.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, call_id, body, status, next_attempt_at, created_at)
       VALUES ('msg_1', ?, 'e1', 'call.completed', 'cal_1', '{}', 'pending', 0, 0)`
    ).run(a.id)
    await b.ok(disableWebhookEndpoint(a.id))
    await eventuallyAsync(async () => !(await instance.ok(getWebhookEndpoint(a.id))).enabled)
    expect(db.prepare("SELECT status FROM webhook_deliveries WHERE id = 'msg_1'").get()).toEqual({ status: "canceled" })
  })

  it("publishes endpoints a file had before they lived in the log, once", async () => {
    ensureWebhookTables(db)
    db.prepare(
      `INSERT INTO webhook_endpoints (id, url, secret, previous_secret, previous_secret_until, event_types, description, enabled, created_at, disabled_at, disabled_reason)
       VALUES ('ep_old', 'https://old.example.com', 'whsec_${Buffer.alloc(24, 1).toString("base64")}', NULL, NULL, '["call.completed"]', NULL, 1, 1700000000000, NULL, NULL),
              ('ep_gone', 'https://gone.example.com', 'whsec_${Buffer.alloc(24, 2).toString("base64")}', NULL, NULL, '["call.completed"]', 'x', 0, 1700000000001, 1700000000500, 'gone')`
    ).run()
    const before = await instance.ok(listWebhookEndpoints({ includeDisabled: true }))
    expect(await instance.ok(publishLocalWebhookEndpoints)).toBe(2)
    expect(await instance.ok(publishLocalWebhookEndpoints)).toBe(0)
    expect((await streamOf("ep_gone")).map((e) => e.type)).toEqual(["WebhookEndpointRegistered", "WebhookEndpointDisabled"])
    const b = otherInstance("b")
    await eventuallyAsync(async () => (await b.ok(listWebhookEndpoints({ includeDisabled: true }))).length === 2)
    expect(await b.ok(listWebhookEndpoints({ includeDisabled: true }))).toEqual(before)
    expect(await instance.ok(listWebhookEndpoints({ includeDisabled: true }))).toEqual(before)
  })
})

const eventuallyAsync = async (check: () => Promise<boolean>, timeoutMillis = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMillis
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

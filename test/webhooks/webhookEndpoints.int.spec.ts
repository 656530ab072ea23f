import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { Webhook } from "standardwebhooks"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { LedgerDatabase, openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import {
  createWebhookEndpoint, disableWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints, rotateWebhookEndpointSecret
} from "../../src/webhooks/webhookEndpoints.js"
import type { CreateWebhookEndpointInput } from "../../src/webhooks/webhookEndpoints.js"

let dir: string
let db: SqliteDatabase
const run = <A, E>(effect: Effect.Effect<A, E, LedgerDatabase>) =>
  Effect.runSync(Effect.either(Effect.provideService(effect, LedgerDatabase, db)))
const ok = <A, E>(effect: Effect.Effect<A, E, LedgerDatabase>): A => {
  const result = run(effect)
  if (Either.isLeft(result)) throw new Error(`unexpected failure: ${JSON.stringify(result.left)}`)
  return result.right
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "call-ledger-endpoints-"))
  db = openSqliteDatabase(join(dir, "ledger.db"))
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("webhook endpoints", () => {
  it("creates an endpoint subscribed to call.completed with a generated Standard Webhooks secret", () => {
    const endpoint = ok(createWebhookEndpoint({ url: "https://example.com/hooks" }))
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
    expect(ok(getWebhookEndpoint(endpoint.id))).toEqual(endpoint)
  })

  it("keeps a valid given secret and the chosen event types", () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`
    const endpoint = ok(createWebhookEndpoint({
      url: "http://127.0.0.1:9000/x", secret, eventTypes: ["call.answered", "call.transcribed", "call.answered"], description: "crm"
    }))
    expect(endpoint.secret).toBe(secret)
    expect(endpoint.eventTypes).toEqual(["call.answered", "call.transcribed"])
    expect(endpoint.description).toBe("crm")
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
  ])("refuses an invalid %s", (field, input) => {
    const result = run(createWebhookEndpoint(input))
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "WebhookEndpointInvalid", field })
    expect(ok(listWebhookEndpoints({ includeDisabled: true }))).toEqual([])
  })

  it("deleting disables the endpoint, cancels its pending deliveries and hides it from the default list", () => {
    const a = ok(createWebhookEndpoint({ url: "https://a.example.com" }))
    const b = ok(createWebhookEndpoint({ url: "https://b.example.com" }))
    db.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, call_id, body, status, next_attempt_at, created_at)
       VALUES ('msg_1', ?, 'e1', 'call.completed', 'cal_1', '{}', 'pending', 0, 0),
              ('msg_2', ?, 'e1', 'call.completed', 'cal_1', '{}', 'pending', 0, 0)`
    ).run(a.id, b.id)
    const disabled = ok(disableWebhookEndpoint(a.id))
    expect(disabled).toMatchObject({ id: a.id, enabled: false, disabledReason: "deleted" })
    expect(ok(listWebhookEndpoints()).map((e) => e.id)).toEqual([b.id])
    expect(ok(listWebhookEndpoints({ includeDisabled: true })).map((e) => e.id).sort()).toEqual([a.id, b.id].sort())
    const statuses = db.prepare("SELECT id, status FROM webhook_deliveries ORDER BY id").all()
    expect(statuses).toEqual([{ id: "msg_1", status: "canceled" }, { id: "msg_2", status: "pending" }])
    expect(run(disableWebhookEndpoint("ep_missing"))).toMatchObject({ left: { _tag: "WebhookEndpointNotFound", id: "ep_missing" } })
    expect(run(getWebhookEndpoint("ep_missing"))).toMatchObject({ left: { _tag: "WebhookEndpointNotFound" } })
  })

  it("rotates the secret, keeping the old one for a grace period", () => {
    const endpoint = ok(createWebhookEndpoint({ url: "https://example.com" }))
    const rotated = ok(rotateWebhookEndpointSecret(endpoint.id))
    expect(rotated.secret).not.toBe(endpoint.secret)
    expect(rotated.secret).toMatch(/^whsec_/)
    const row = db.prepare("SELECT previous_secret, previous_secret_until FROM webhook_endpoints WHERE id = ?").get(endpoint.id) as {
      previous_secret: string
      previous_secret_until: number
    }
    expect(row.previous_secret).toBe(endpoint.secret)
    expect(row.previous_secret_until).toBeGreaterThan(Date.now() + 23 * 3_600_000)
    expect(run(rotateWebhookEndpointSecret(endpoint.id, { secret: "whsec_bad" }))).toMatchObject({
      left: { _tag: "WebhookEndpointInvalid", field: "secret" }
    })
  })
})

/**
 * Queries over webhook deliveries and their attempts for the Calls API, and manual redelivery.
 * Instants are ISO-8601 UTC; durations in ms.
 */
import { Clock, Effect, Option, Schema } from "effect"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import { WebhookDispatcher } from "./webhookDispatcher.js"
import { WebhookDeliveryNotFound, WebhookEndpointDisabled } from "./webhookErrors.js"
import { ensureWebhookTables } from "./webhookTables.js"

/** Delivery statuses: `pending` (waiting or retrying), `delivered`, `failed` (gave up), `canceled` (endpoint disabled). */
export const WebhookDeliveryStatus = Schema.Literal("pending", "delivered", "failed", "canceled")
export type WebhookDeliveryStatus = typeof WebhookDeliveryStatus.Type

/** A delivery: one webhook message to one endpoint. `id` is the `webhook-id` header. */
export const WebhookDelivery = Schema.Struct({
  id: Schema.String,
  endpointId: Schema.String,
  eventId: Schema.String,
  eventType: Schema.String,
  callId: Schema.String,
  status: WebhookDeliveryStatus,
  attemptCount: Schema.Int,
  nextAttemptAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  lastAttemptAt: Schema.NullOr(Schema.String),
  lastStatusCode: Schema.NullOr(Schema.Int),
  lastError: Schema.NullOr(Schema.String),
  deliveredAt: Schema.NullOr(Schema.String),
  /** The JSON body sent, parsed: `{ type, timestamp, data }`. */
  payload: Schema.Unknown
})
export type WebhookDelivery = typeof WebhookDelivery.Type

/** One HTTP attempt of a delivery. `statusCode` null when no response came (see `error`). */
export const WebhookAttempt = Schema.Struct({
  attempt: Schema.Int,
  startedAt: Schema.String,
  durationMs: Schema.Int,
  statusCode: Schema.NullOr(Schema.Int),
  error: Schema.NullOr(Schema.String),
  responseSnippet: Schema.NullOr(Schema.String)
})
export type WebhookAttempt = typeof WebhookAttempt.Type

/** A delivery with its attempts, oldest first. */
export const WebhookDeliveryDetail = Schema.extend(WebhookDelivery, Schema.Struct({ attempts: Schema.Array(WebhookAttempt) }))
export type WebhookDeliveryDetail = typeof WebhookDeliveryDetail.Type

/** Filters and page of `listWebhookDeliveries`. `limit` default 50, at most 200. */
export interface ListWebhookDeliveriesOptions {
  readonly endpointId?: string | undefined
  readonly status?: WebhookDeliveryStatus | undefined
  readonly callId?: string | undefined
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

interface DeliveryRow {
  readonly id: string
  readonly endpoint_id: string
  readonly event_id: string
  readonly event_type: string
  readonly call_id: string
  readonly body: string
  readonly status: WebhookDeliveryStatus
  readonly attempt_count: number
  readonly next_attempt_at: number | null
  readonly created_at: number
  readonly last_attempt_at: number | null
  readonly last_status_code: number | null
  readonly last_error: string | null
  readonly delivered_at: number | null
}

interface AttemptRow {
  readonly attempt: number
  readonly started_at: number
  readonly duration_ms: number
  readonly status_code: number | null
  readonly error: string | null
  readonly response_snippet: string | null
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  eventId: row.event_id,
  eventType: row.event_type,
  callId: row.call_id,
  status: row.status,
  attemptCount: row.attempt_count,
  nextAttemptAt: row.status === "pending" ? iso(row.next_attempt_at) : null,
  createdAt: iso(row.created_at)!,
  lastAttemptAt: iso(row.last_attempt_at),
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  deliveredAt: iso(row.delivered_at),
  payload: JSON.parse(row.body) as unknown
})

const database = Effect.map(LedgerDatabase, (db) => {
  ensureWebhookTables(db)
  return db
})

/** Deliveries, newest first, filtered by endpoint, status and call. */
export const listWebhookDeliveries = Effect.fn("Webhooks.listDeliveries")(function*(options: ListWebhookDeliveriesOptions = {}) {
  const db = yield* database
  const where: Array<string> = []
  const params: Array<string | number> = []
  if (options.endpointId !== undefined) {
    where.push("endpoint_id = ?")
    params.push(options.endpointId)
  }
  if (options.status !== undefined) {
    where.push("status = ?")
    params.push(options.status)
  }
  if (options.callId !== undefined) {
    where.push("call_id = ?")
    params.push(options.callId)
  }
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 200)
  const offset = Math.max(Math.trunc(options.offset ?? 0), 0)
  const rows = db.prepare(
    `SELECT * FROM webhook_deliveries ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY created_at DESC, rowid DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`
  ).all(...params, limit, offset) as Array<DeliveryRow>
  return rows.map(toDelivery)
})

/** One delivery with its attempts. Fails with `WebhookDeliveryNotFound`. */
export const getWebhookDelivery = Effect.fn("Webhooks.getDelivery")(function*(id: string) {
  const db = yield* database
  const row = db.prepare("SELECT * FROM webhook_deliveries WHERE id = ?").get(id) as DeliveryRow | undefined
  if (row === undefined) return yield* Effect.fail(new WebhookDeliveryNotFound({ id }))
  const attempts = db.prepare(
    "SELECT attempt, started_at, duration_ms, status_code, error, response_snippet FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt"
  ).all(id) as Array<AttemptRow>
  return {
    ...toDelivery(row),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      startedAt: iso(a.started_at)!,
      durationMs: a.duration_ms,
      statusCode: a.status_code,
      error: a.error,
      responseSnippet: a.response_snippet
    }))
  } satisfies WebhookDeliveryDetail
})

/**
 * Manual redelivery: puts the delivery back to `pending`, due now, with the retry schedule
 * started afresh and the same `webhook-id`; when a `WebhookDispatcher` runs, reopens the delivery
 * for the other instances (shared claims) and wakes it.
 * Fails with `WebhookDeliveryNotFound` (also once deleted after its retention), or
 * `WebhookEndpointDisabled` when its endpoint is disabled.
 */
export const retryWebhookDelivery = Effect.fn("Webhooks.retryDelivery")(function*(id: string) {
  const db = yield* database
  const row = db.prepare(
    "SELECT d.endpoint_id, e.enabled FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?"
  ).get(id) as { readonly endpoint_id: string; readonly enabled: number } | undefined
  if (row === undefined) return yield* Effect.fail(new WebhookDeliveryNotFound({ id }))
  if (row.enabled !== 1) return yield* Effect.fail(new WebhookEndpointDisabled({ id: row.endpoint_id }))
  const dispatcher = yield* Effect.serviceOption(WebhookDispatcher)
  // Reopened for the other instances first, so a claim right after sees it open, not settled.
  if (Option.isSome(dispatcher)) yield* dispatcher.value.reopen(id)
  const now = yield* Clock.currentTimeMillis
  const reopened = db.prepare("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, schedule_step = 0 WHERE id = ?").run(now, id)
  // Deleted meanwhile, past its retention (`webhookRetention.ts`).
  if (reopened.changes === 0) return yield* Effect.fail(new WebhookDeliveryNotFound({ id }))
  if (Option.isSome(dispatcher)) dispatcher.value.wake()
  return yield* getWebhookDelivery(id)
})

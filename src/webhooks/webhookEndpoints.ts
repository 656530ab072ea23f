/**
 * Webhook endpoints (subscriptions): a URL, a Standard Webhooks signing secret and the event
 * types it wants. Deleting an endpoint disables it, so its deliveries and attempts stay readable,
 * and cancels its pending deliveries. Instants come from Effect's `Clock`.
 */
import { randomUUID } from "node:crypto"
import { Clock, Effect, Schema } from "effect"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { WebhookEndpointInvalid, WebhookEndpointNotFound } from "./webhookErrors.js"
import { defaultWebhookEventTypes, isWebhookEventType, webhookEventTypes } from "./webhookEventTypes.js"
import type { WebhookEventType } from "./webhookEventTypes.js"
import { generateWebhookSecret, isValidWebhookSecret } from "./webhookSecret.js"
import { ensureWebhookTables } from "./webhookTables.js"

/** An endpoint as the API shows it. Instants ISO-8601 UTC. */
export const WebhookEndpoint = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  /** `whsec_...`; receivers verify with it (Standard Webhooks). */
  secret: Schema.String,
  eventTypes: Schema.Array(Schema.Literal(...webhookEventTypes)),
  description: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  createdAt: Schema.String,
  disabledAt: Schema.NullOr(Schema.String),
  /** `deleted` (by the API) or `gone` (the receiver answered 410). */
  disabledReason: Schema.NullOr(Schema.String)
})
export type WebhookEndpoint = typeof WebhookEndpoint.Type

/** What `createWebhookEndpoint` takes. `eventTypes` default `["call.completed"]`; `secret` generated when absent. */
export interface CreateWebhookEndpointInput {
  readonly url: string
  readonly eventTypes?: ReadonlyArray<string> | undefined
  readonly description?: string | null | undefined
  readonly secret?: string | undefined
}

/** How long a rotated-out secret still signs (a second `v1,` signature), so receivers can switch keys: 24 h. */
export const defaultPreviousSecretGraceMillis = 24 * 60 * 60 * 1000

const maxUrlLength = 2048
const maxDescriptionLength = 500

interface EndpointRow {
  readonly id: string
  readonly url: string
  readonly secret: string
  readonly event_types: string
  readonly description: string | null
  readonly enabled: number
  readonly created_at: number
  readonly disabled_at: number | null
  readonly disabled_reason: string | null
}

const iso = (ms: number) => new Date(ms).toISOString()

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  secret: row.secret,
  eventTypes: JSON.parse(row.event_types) as Array<WebhookEventType>,
  description: row.description,
  enabled: row.enabled === 1,
  createdAt: iso(row.created_at),
  disabledAt: row.disabled_at === null ? null : iso(row.disabled_at),
  disabledReason: row.disabled_reason
})

const invalid = (field: string, message: string) => new WebhookEndpointInvalid({ field, message })

/** Checks a subscriber URL: absolute `http:` or `https:`, a host, no user:password, at most 2048 characters. */
export const validateEndpointUrl = (url: string): WebhookEndpointInvalid | null => {
  if (url.length > maxUrlLength) return invalid("url", `at most ${maxUrlLength} characters`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return invalid("url", "an absolute http(s) URL")
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return invalid("url", "must use http or https")
  if (parsed.hostname === "") return invalid("url", "must name a host")
  if (parsed.username !== "" || parsed.password !== "") return invalid("url", "must not carry credentials")
  return null
}

const validateEventTypes = (
  types: ReadonlyArray<string> | undefined
): ReadonlyArray<WebhookEventType> | WebhookEndpointInvalid => {
  if (types === undefined) return defaultWebhookEventTypes
  if (types.length === 0) return invalid("eventTypes", "at least one event type")
  const unknown = types.filter((t) => !isWebhookEventType(t))
  if (unknown.length > 0) {
    return invalid("eventTypes", `unknown ${unknown.join(", ")}; known: ${webhookEventTypes.join(", ")}`)
  }
  return [...new Set(types as ReadonlyArray<WebhookEventType>)]
}

const readRow = (db: SqliteDatabase, id: string) =>
  db.prepare("SELECT * FROM webhook_endpoints WHERE id = ?").get(id) as EndpointRow | undefined

const database = Effect.map(LedgerDatabase, (db) => {
  ensureWebhookTables(db)
  return db
})

/**
 * Creates an enabled endpoint with id `ep_<32 hex>`. Fails with `WebhookEndpointInvalid` naming
 * `url`, `eventTypes`, `description` or `secret`. It receives only events recorded from now on.
 */
export const createWebhookEndpoint = Effect.fn("Webhooks.createEndpoint")(function*(input: CreateWebhookEndpointInput) {
  const db = yield* database
  const urlError = validateEndpointUrl(input.url)
  if (urlError !== null) return yield* Effect.fail(urlError)
  const eventTypes = validateEventTypes(input.eventTypes)
  if (eventTypes instanceof WebhookEndpointInvalid) return yield* Effect.fail(eventTypes)
  const description = input.description ?? null
  if (description !== null && description.length > maxDescriptionLength) {
    return yield* Effect.fail(invalid("description", `at most ${maxDescriptionLength} characters`))
  }
  if (input.secret !== undefined && !isValidWebhookSecret(input.secret)) {
    return yield* Effect.fail(invalid("secret", "whsec_ followed by the base64 of 24 to 64 bytes"))
  }
  const now = yield* Clock.currentTimeMillis
  const id = `ep_${randomUUID().replaceAll("-", "")}`
  db.prepare(
    `INSERT INTO webhook_endpoints (id, url, secret, event_types, description, enabled, created_at)
     VALUES (?, ?, ?, ?, ?, 1, ?)`
  ).run(id, input.url, input.secret ?? generateWebhookSecret(), JSON.stringify(eventTypes), description, now)
  return toEndpoint(readRow(db, id)!)
})

/** Every endpoint, oldest first; disabled ones only when `includeDisabled`. */
export const listWebhookEndpoints = Effect.fn("Webhooks.listEndpoints")(function*(
  options: { readonly includeDisabled?: boolean } = {}
) {
  const db = yield* database
  const rows = db.prepare(
    `SELECT * FROM webhook_endpoints ${options.includeDisabled === true ? "" : "WHERE enabled = 1"} ORDER BY created_at, id`
  ).all() as Array<EndpointRow>
  return rows.map(toEndpoint)
})

/** One endpoint, enabled or not. Fails with `WebhookEndpointNotFound`. */
export const getWebhookEndpoint = Effect.fn("Webhooks.getEndpoint")(function*(id: string) {
  const db = yield* database
  const row = readRow(db, id)
  if (row === undefined) return yield* Effect.fail(new WebhookEndpointNotFound({ id }))
  return toEndpoint(row)
})

/**
 * Disables an endpoint and cancels its pending deliveries, in one transaction (plain, for callers
 * already inside one: the dispatcher does this on HTTP 410). Returns false when no such endpoint.
 */
export const disableEndpointRows = (db: SqliteDatabase, id: string, atMillis: number, reason: string): boolean => {
  ensureWebhookTables(db)
  return db.transaction(() => {
    const changed = db.prepare(
      "UPDATE webhook_endpoints SET enabled = 0, disabled_at = ?, disabled_reason = ? WHERE id = ? AND enabled = 1"
    ).run(atMillis, reason, id).changes
    db.prepare(
      "UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL WHERE endpoint_id = ? AND status = 'pending'"
    ).run(id)
    return changed > 0 || readRow(db, id) !== undefined
  })()
}

/** Deletes an endpoint: disables it (reason `deleted`) and cancels its pending deliveries. Idempotent. Fails with `WebhookEndpointNotFound`. */
export const disableWebhookEndpoint = Effect.fn("Webhooks.disableEndpoint")(function*(id: string) {
  const db = yield* database
  const now = yield* Clock.currentTimeMillis
  if (!disableEndpointRows(db, id, now, "deleted")) return yield* Effect.fail(new WebhookEndpointNotFound({ id }))
  return toEndpoint(readRow(db, id)!)
})

/**
 * Replaces the signing secret (the given one, or a fresh one). The old secret keeps signing next
 * to the new one for `previousSecretGraceMillis` (default 24 h), so a receiver can switch without
 * rejecting deliveries. Fails with `WebhookEndpointNotFound` or `WebhookEndpointInvalid` (`secret`).
 */
export const rotateWebhookEndpointSecret = Effect.fn("Webhooks.rotateSecret")(function*(
  id: string,
  options: { readonly secret?: string | undefined; readonly previousSecretGraceMillis?: number | undefined } = {}
) {
  const db = yield* database
  if (options.secret !== undefined && !isValidWebhookSecret(options.secret)) {
    return yield* Effect.fail(invalid("secret", "whsec_ followed by the base64 of 24 to 64 bytes"))
  }
  const row = readRow(db, id)
  if (row === undefined) return yield* Effect.fail(new WebhookEndpointNotFound({ id }))
  const now = yield* Clock.currentTimeMillis
  const grace = options.previousSecretGraceMillis ?? defaultPreviousSecretGraceMillis
  db.prepare(
    "UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until = ? WHERE id = ?"
  ).run(options.secret ?? generateWebhookSecret(), grace > 0 ? row.secret : null, grace > 0 ? now + grace : null, id)
  return toEndpoint(readRow(db, id)!)
})

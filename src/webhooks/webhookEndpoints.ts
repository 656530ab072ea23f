/**
 * Webhook endpoints (subscriptions): a URL, a Standard Webhooks signing secret and the event
 * types it wants. Deleting an endpoint disables it, so its deliveries and attempts stay readable,
 * and cancels its pending deliveries. Instants come from Effect's `Clock`.
 *
 * Writes go to the log (`webhook-endpoint-<id>` streams, `webhookEndpointEvents.ts`), so every
 * instance on one store learns them; reads come from the `webhook_endpoints` table, the
 * projection of those streams (`webhookEndpointsProjection.ts`). A write waits for this
 * instance's projections, so a read after it sees it.
 */
import { randomUUID } from "node:crypto"
import { Clock, Effect, Schema } from "effect"
import { Projections } from "../projections/projectionRunner.js"
import { eventIdFor, schemaVersion } from "../store/callCommandHandler.js"
import { EventStore, WrongExpectedRevision } from "../store/eventStore.js"
import type { ExpectedRevision, Position } from "../store/eventStore.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { evolveWebhookEndpoint, foldWebhookEndpoint, webhookEndpointStreamId } from "./webhookEndpointEvents.js"
import type { WebhookEndpointEvent, WebhookEndpointState } from "./webhookEndpointEvents.js"
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

const fromState = (state: WebhookEndpointState): WebhookEndpoint => ({
  id: state.id,
  url: state.url,
  secret: state.secret,
  eventTypes: [...state.eventTypes],
  description: state.description,
  enabled: state.enabled,
  createdAt: state.createdAt,
  disabledAt: state.disabledAt,
  disabledReason: state.disabledReason
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

/** How long an endpoint write waits for the projections before answering anyway (read-your-writes). */
const readYourWritesTimeout = "5 seconds"

const maxConflictRetries = 10

/** Appends one endpoint event (a fresh command id, its deterministic event id) with the expected revision. */
const appendEndpointEvent = (endpointId: string, event: WebhookEndpointEvent, expected: ExpectedRevision, atMillis: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const commandId = randomUUID()
    const at = new Date(atMillis).toISOString()
    return yield* store.appendToStream(webhookEndpointStreamId(endpointId), [{
      eventId: eventIdFor(commandId, 0),
      type: event.type,
      data: event.data,
      metadata: { schemaVersion, commandId, correlationId: commandId, causationId: null, occurredAt: at, recordedAt: at }
    }], expected)
  })

/** Waits until this instance's projections have applied `position`, so its reads see the write. */
const awaitProjections = (position: Position) =>
  Effect.flatMap(Projections, (projections) => projections.waitFor(position, readYourWritesTimeout)).pipe(Effect.orDie)

/**
 * The write path of an existing endpoint: read its stream, fold, `decide` the event (null: nothing
 * to do), append with the revision read; on a conflict read and decide again. Fails with
 * `WebhookEndpointNotFound` when the endpoint was never registered.
 */
const changeEndpoint = (
  id: string,
  decide: (state: WebhookEndpointState, atMillis: number) => WebhookEndpointEvent | null
) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const attempt = Effect.gen(function*() {
      const events = yield* store.readStream(webhookEndpointStreamId(id)).pipe(Effect.orDie)
      const state = foldWebhookEndpoint(events)
      const last = events[events.length - 1]
      if (state === null || last === undefined) return yield* Effect.fail(new WebhookEndpointNotFound({ id }))
      const now = yield* Clock.currentTimeMillis
      const event = decide(state, now)
      if (event === null) return { state, position: null }
      const result = yield* appendEndpointEvent(id, event, last.revision, now).pipe(
        Effect.catchTag("StreamDeleted", (e) => Effect.die(e))
      )
      return { state: evolveWebhookEndpoint(state, event)!, position: result.position }
    })
    return yield* attempt.pipe(
      Effect.retry({ while: (e) => e instanceof WrongExpectedRevision, times: maxConflictRetries }),
      Effect.catchIf((e): e is WrongExpectedRevision => e instanceof WrongExpectedRevision, (e) => Effect.die(e))
    )
  })

/**
 * Creates an enabled endpoint with id `ep_<32 hex>`: appends `WebhookEndpointRegistered` to its
 * stream and waits for this instance's projections (read-your-writes). Fails with
 * `WebhookEndpointInvalid` naming `url`, `eventTypes`, `description` or `secret`. It receives only
 * events recorded from now on.
 */
export const createWebhookEndpoint = Effect.fn("Webhooks.createEndpoint")(function*(input: CreateWebhookEndpointInput) {
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
  const event: WebhookEndpointEvent = {
    type: "WebhookEndpointRegistered",
    data: {
      endpointId: id,
      url: input.url,
      secret: input.secret ?? generateWebhookSecret(),
      eventTypes,
      description,
      createdAt: new Date(now).toISOString()
    }
  }
  // A fresh id never conflicts; a conflict or a tombstone here is a bug.
  const result = yield* appendEndpointEvent(id, event, "no_stream", now).pipe(Effect.orDie)
  yield* awaitProjections(result.position)
  return fromState(evolveWebhookEndpoint(null, event)!)
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

/**
 * Appends `WebhookEndpointDisabled` with `reason` unless the endpoint is already disabled, without
 * waiting for the projections (the dispatcher's 410 path). Fails with `WebhookEndpointNotFound`.
 */
export const recordWebhookEndpointDisabled = (id: string, reason: string) =>
  changeEndpoint(id, (state, now) =>
    state.enabled ? { type: "WebhookEndpointDisabled", data: { endpointId: id, reason, at: new Date(now).toISOString() } } : null)

/**
 * Deletes an endpoint: disables it (reason `deleted`), which cancels its pending deliveries on
 * every instance. Idempotent. Waits for this instance's projections. Fails with `WebhookEndpointNotFound`.
 */
export const disableWebhookEndpoint = Effect.fn("Webhooks.disableEndpoint")(function*(id: string) {
  const { state, position } = yield* recordWebhookEndpointDisabled(id, "deleted")
  if (position !== null) yield* awaitProjections(position)
  return fromState(state)
})

/**
 * Replaces the signing secret (the given one, or a fresh one). The old secret keeps signing next
 * to the new one for `previousSecretGraceMillis` (default 24 h), so a receiver can switch without
 * rejecting deliveries. Appends `WebhookEndpointSecretRotated` and waits for this instance's
 * projections. Fails with `WebhookEndpointNotFound` or `WebhookEndpointInvalid` (`secret`).
 */
export const rotateWebhookEndpointSecret = Effect.fn("Webhooks.rotateSecret")(function*(
  id: string,
  options: { readonly secret?: string | undefined; readonly previousSecretGraceMillis?: number | undefined } = {}
) {
  if (options.secret !== undefined && !isValidWebhookSecret(options.secret)) {
    return yield* Effect.fail(invalid("secret", "whsec_ followed by the base64 of 24 to 64 bytes"))
  }
  const secret = options.secret ?? generateWebhookSecret()
  const grace = options.previousSecretGraceMillis ?? defaultPreviousSecretGraceMillis
  const { state, position } = yield* changeEndpoint(id, (current, now) => ({
    type: "WebhookEndpointSecretRotated",
    data: {
      endpointId: id,
      secret,
      previousSecret: grace > 0 ? current.secret : null,
      previousSecretUntil: grace > 0 ? new Date(now + grace).toISOString() : null,
      at: new Date(now).toISOString()
    }
  }))
  if (position !== null) yield* awaitProjections(position)
  return fromState(state)
})

/**
 * Endpoints this ledger file holds that the log does not (created before endpoints moved into the
 * log) are appended to the log once, with their original creation time, secrets and state, so
 * every instance learns them. Returns how many. Safe to run at every start and on several
 * instances at once (`no_stream`: the first one wins).
 */
export const publishLocalWebhookEndpoints = Effect.gen(function*() {
  const db = yield* database
  const store = yield* EventStore
  const rows = db.prepare("SELECT * FROM webhook_endpoints ORDER BY created_at, id").all() as Array<EndpointRow & {
    readonly previous_secret: string | null
    readonly previous_secret_until: number | null
  }>
  let published = 0
  for (const row of rows) {
    const streamId = webhookEndpointStreamId(row.id)
    const existing = yield* store.readStream(streamId, { maxCount: 1 }).pipe(Effect.orDie)
    if (existing.length > 0) continue
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const events: Array<WebhookEndpointEvent> = [{
      type: "WebhookEndpointRegistered",
      data: {
        endpointId: row.id, url: row.url, secret: row.secret, eventTypes: JSON.parse(row.event_types) as Array<WebhookEventType>,
        description: row.description, createdAt: iso(row.created_at)
      }
    }]
    if (row.previous_secret !== null) {
      events.push({
        type: "WebhookEndpointSecretRotated",
        data: {
          endpointId: row.id, secret: row.secret, previousSecret: row.previous_secret,
          previousSecretUntil: row.previous_secret_until === null ? null : iso(row.previous_secret_until), at: now
        }
      })
    }
    if (row.enabled !== 1) {
      events.push({
        type: "WebhookEndpointDisabled",
        data: { endpointId: row.id, reason: row.disabled_reason ?? "deleted", at: row.disabled_at === null ? now : iso(row.disabled_at) }
      })
    }
    const commandId = randomUUID()
    const appended = yield* store.appendToStream(streamId, events.map((event, index) => ({
      eventId: eventIdFor(commandId, index),
      type: event.type,
      data: event.data,
      metadata: { schemaVersion, commandId, correlationId: commandId, causationId: null, occurredAt: now, recordedAt: now }
    })), "no_stream").pipe(
      Effect.as(true),
      Effect.catchTag("WrongExpectedRevision", () => Effect.succeed(false)),
      Effect.catchTag("StreamDeleted", () => Effect.succeed(false))
    )
    if (appended) published++
  }
  return published
})

/**
 * The webhook outbox: a projection ("webhook-outbox") that turns call events into delivery rows,
 * inside the projection runner's transaction, so a delivery is durable before its first attempt
 * (transactional outbox). Place it after the call view: when it sees `CallEnded`, the view row
 * already reflects that event.
 *
 * Rules: one row per (event, enabled endpoint subscribed to the event's webhook type and created
 * at or before the event's `recordedAt`), so a rebuild or an endpoint added later never triggers
 * old calls. The row id is `msg_` + UUID v5 of (event id, endpoint id) and rows are inserted with
 * INSERT OR IGNORE, so replays are idempotent; `reset()` keeps every row, since a read-model rebuild
 * must neither resend nor lose a webhook. It also keeps the position the outbox had applied up to
 * (its high-water mark): a replay writes no delivery for an event at or before it, as the first
 * pass wrote them all, so a delivery deleted after its retention (`webhookRetention.ts`) is not
 * written and sent again. The mark only moves forward: a file paired with a new, shorter log (a
 * store provisioned again) needs `DELETE FROM webhook_outbox_high_water` before its replay.
 * No clock reads: every instant comes from the event.
 */
import { v5 as uuidv5 } from "uuid"
import type { Projection } from "../projections/projection.js"
import type { Position, RecordedEvent } from "../store/eventStore.js"
import { comparePositions, positionFromString, positionToString } from "../store/position.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { webhookSourceEventTypes, webhookTypeOf } from "./webhookEventTypes.js"
import type { WebhookEventType } from "./webhookEventTypes.js"
import { ensureWebhookTables, webhookEndpointsGeneration } from "./webhookTables.js"

/** Namespace of delivery ids (UUID v5, RFC 9562 §5.5). */
export const deliveryIdNamespace = "3b0d7c52-8a51-4f0e-9d7b-2f6a1c9e4b83"

/** The delivery id, also the `webhook-id` header: `msg_` + UUID v5 of `<eventId>:<endpointId>`; stable across retries and replays. */
export const deliveryIdFor = (eventId: string, endpointId: string): string =>
  `msg_${uuidv5(`${eventId}:${endpointId}`, deliveryIdNamespace)}`

/**
 * The exact body sent: `{"type":<webhook type>,"timestamp":<event recordedAt, ISO-8601>,"data":<payload>}`
 * (the Standard Webhooks payload structure).
 */
export const webhookBody = (type: WebhookEventType, recordedAt: string, data: unknown): string =>
  JSON.stringify({ type, timestamp: recordedAt, data })

export interface WebhookOutboxOptions {
  /** Reads the call's current view in the same database (the call view projection's query), or null. */
  readonly loadCallView: (db: SqliteDatabase, callId: string) => unknown | null
  /** Turns a view into the webhook's `data` (e.g. the API's public shape). Default: the view as is. */
  readonly present?: ((view: unknown) => unknown) | undefined
  /**
   * Called when `apply` inserted a delivery row, inside the runner's transaction: the rows are
   * readable once that batch commits (the runner's `onBatch`). Not called for rows a replay finds
   * already there.
   */
  readonly onDeliveryWritten?: (() => void) | undefined
}

/** Name of the outbox projection, the key of its checkpoint. */
export const webhookOutboxName = "webhook-outbox"

interface SubscriberRow {
  readonly id: string
  readonly event_types: string
  readonly created_at: number
}

/** The outbox projection. See the module comment for its rules. */
export const webhookOutboxProjection = (options: WebhookOutboxOptions): Projection => (db) => {
  ensureWebhookTables(db)
  const present = options.present ?? ((view: unknown) => view)
  const enabledEndpoints = db.prepare("SELECT id, event_types, created_at FROM webhook_endpoints WHERE enabled = 1 ORDER BY created_at, id")
  const insert = db.prepare(
    `INSERT OR IGNORE INTO webhook_deliveries
       (id, endpoint_id, event_id, event_type, call_id, body, status, attempt_count, schedule_step, next_attempt_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?)`
  )
  // Endpoints change rarely: the enabled ones are read again only when the file's endpoint
  // generation moved (any insert, update or delete, by any connection), and kept by webhook type.
  // Reading every enabled endpoint per event cost ~1.5 ms an event with 1,000 endpoints of which
  // none took the event's type (`npm run bench`: webhook figure, "outbox event among 1,000 endpoints").
  let subscribersGeneration: number | null = null
  let subscribersByType = new Map<string, Array<SubscriberRow>>()
  // Most endpoints store one of a few event-type lists: each distinct text is parsed once.
  const parsedEventTypes = new Map<string, ReadonlyArray<string>>()
  const eventTypesOf = (stored: string): ReadonlyArray<string> => {
    let types = parsedEventTypes.get(stored)
    if (types === undefined) {
      types = [...new Set(JSON.parse(stored) as Array<string>)]
      parsedEventTypes.set(stored, types)
    }
    return types
  }
  const subscribersOf = (type: WebhookEventType): ReadonlyArray<SubscriberRow> => {
    const generation = webhookEndpointsGeneration(db)
    if (generation !== subscribersGeneration) {
      subscribersByType = new Map()
      for (const row of enabledEndpoints.all() as Array<SubscriberRow>) {
        for (const subscribed of eventTypesOf(row.event_types)) {
          const rows = subscribersByType.get(subscribed) ?? []
          rows.push(row)
          subscribersByType.set(subscribed, rows)
        }
      }
      subscribersGeneration = generation
    }
    return subscribersByType.get(type) ?? []
  }
  const storedHighWater = db.prepare<[], { position: string }>("SELECT position FROM webhook_outbox_high_water WHERE id = 0")
  const saveHighWater = db.prepare(
    "INSERT INTO webhook_outbox_high_water (id, position) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET position = excluded.position"
  )
  const readHighWater = (): Position | null => {
    const row = storedHighWater.get()
    return row === undefined ? null : positionFromString(row.position)
  }
  /** Events at or before it were applied before the last reset; null once the replay passed it. */
  let highWater = readHighWater()
  const apply = (event: RecordedEvent): void => {
    if (highWater !== null) {
      if (comparePositions(event.position, highWater) <= 0) return
      highWater = null
    }
    const type = webhookTypeOf(event)
    if (type === null) return
    const recordedAtMillis = Date.parse(event.metadata.recordedAt)
    const subscribers = subscribersOf(type).filter((row) => row.created_at <= recordedAtMillis)
    if (subscribers.length === 0) return
    const callId = (event.data as { readonly callId: string }).callId
    const view = options.loadCallView(db, callId)
    // The view should always exist after the call view projection; an id keeps the body useful if not.
    const body = webhookBody(type, event.metadata.recordedAt, view === null ? { id: callId } : present(view))
    let written = 0
    for (const endpoint of subscribers) {
      written += insert.run(deliveryIdFor(event.eventId, endpoint.id), endpoint.id, event.eventId, type, callId, body, recordedAtMillis, recordedAtMillis).changes
    }
    if (written > 0) options.onDeliveryWritten?.()
  }
  return {
    name: webhookOutboxName,
    eventTypes: webhookSourceEventTypes,
    apply,
    reset: (checkpoint) => {
      const stored = readHighWater()
      const furthest = stored === null || (checkpoint !== null && comparePositions(checkpoint, stored) > 0) ? checkpoint : stored
      if (furthest === null) return
      saveHighWater.run(positionToString(furthest))
      highWater = furthest
    },
    // A rolled-back batch may have kept endpoints it wrote itself; their generation can recur with
    // other rows. The high-water mark is read again: a rolled-back batch may have passed it, a
    // rolled-back reset moved it.
    discard: () => {
      subscribersGeneration = null
      highWater = readHighWater()
    }
  }
}

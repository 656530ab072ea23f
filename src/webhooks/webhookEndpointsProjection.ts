/**
 * The `webhook_endpoints` table as a projection ("webhook-endpoints") of the endpoint streams
 * (`webhook-endpoint-<id>`), so every instance on one store has every endpoint. Place it before
 * the webhook outbox: the runner applies each event to every projection in list order, so the
 * outbox sees exactly the endpoints registered before a call event in the log, on every instance
 * alike, and their deliveries get the same ids everywhere.
 *
 * `reset()` keeps the rows: deliveries reference their endpoint, and replaying the streams brings
 * every row back to the same state (a registration inserts if missing, a rotation sets the
 * secrets, a disable is a no-op on a disabled row).
 */
import type { Projection } from "../projections/projection.js"
import type { RecordedEvent } from "../store/eventStore.js"
import { asWebhookEndpointEvent, webhookEndpointEventTypes, webhookEndpointStreamPrefix } from "./webhookEndpointEvents.js"
import { disableEndpointRows } from "./webhookEndpoints.js"
import { ensureWebhookTables } from "./webhookTables.js"

/** Name of the endpoints projection, the key of its checkpoint. */
export const webhookEndpointsName = "webhook-endpoints"

const millis = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso))

/** The endpoints projection. */
export const webhookEndpointsProjection: Projection = (db) => {
  ensureWebhookTables(db)
  const insert = db.prepare(
    `INSERT OR IGNORE INTO webhook_endpoints (id, url, secret, event_types, description, enabled, created_at)
     VALUES (?, ?, ?, ?, ?, 1, ?)`
  )
  const rotate = db.prepare("UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_until = ? WHERE id = ?")
  const apply = (recorded: RecordedEvent): void => {
    const event = asWebhookEndpointEvent(recorded)
    if (event === null) return
    switch (event.type) {
      case "WebhookEndpointRegistered": {
        const d = event.data
        insert.run(d.endpointId, d.url, d.secret, JSON.stringify(d.eventTypes), d.description, Date.parse(d.createdAt))
        return
      }
      case "WebhookEndpointDisabled":
        disableEndpointRows(db, event.data.endpointId, Date.parse(event.data.at), event.data.reason)
        return
      case "WebhookEndpointSecretRotated": {
        const d = event.data
        rotate.run(d.secret, d.previousSecret, millis(d.previousSecretUntil), d.endpointId)
        return
      }
    }
  }
  return {
    name: webhookEndpointsName,
    eventTypes: webhookEndpointEventTypes,
    streamPrefixes: [webhookEndpointStreamPrefix],
    apply,
    reset: () => {}
  }
}

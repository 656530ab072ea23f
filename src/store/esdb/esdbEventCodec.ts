/**
 * How ledger events travel in EventStoreDB: a JSON event (`application/json`) whose id is the
 * ledger's event id, whose data is the event data, and whose custom metadata is the ledger's
 * `EventMetadata` as JSON ("Appending events": event id, type, data, metadata).
 */
import { jsonEvent } from "@eventstore/db-client"
import type { AllStreamResolvedEvent, JSONType, ResolvedEvent } from "@eventstore/db-client"
import { Schema } from "effect"
import type { EventMetadata, EventToAppend, RecordedEvent } from "../eventStore.js"
import { isSystemEvent } from "../eventFilter.js"

const EventMetadataSchema = Schema.Struct({
  schemaVersion: Schema.Number,
  commandId: Schema.String,
  correlationId: Schema.String,
  causationId: Schema.NullOr(Schema.String),
  occurredAt: Schema.String,
  recordedAt: Schema.String
})

const decodeMetadata = Schema.decodeUnknownSync(EventMetadataSchema)

/** The client's event data for one event to append. */
export const toEsdbEvent = (event: EventToAppend) =>
  jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data as JSONType,
    metadata: { ...event.metadata } as Record<string, unknown>
  })

/**
 * A read or subscription result as a ledger `RecordedEvent`; null for a link without its target
 * or a system event. Throws when a ledger stream holds a non-JSON event or metadata that is not
 * the ledger's: the log is corrupt, which is a defect, not a case to handle.
 */
export const fromEsdbEvent = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | null => {
  const event = resolved.event
  if (event === undefined || isSystemEvent(event.type, event.streamId)) return null
  if (!event.isJson) throw new Error(`event ${event.id} in ${event.streamId} is not JSON`)
  if (event.position === undefined) throw new Error(`event ${event.id} in ${event.streamId} has no position`)
  const metadata: EventMetadata = decodeMetadata(event.metadata)
  return {
    eventId: event.id,
    streamId: event.streamId,
    revision: event.revision,
    position: { commit: event.position.commit, prepare: event.position.prepare },
    type: event.type,
    data: event.data,
    metadata
  }
}

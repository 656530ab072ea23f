/** The exact `EventFilter` check every adapter applies to `$all`, so all of them filter alike. */
import type { EventFilter, RecordedEvent } from "./eventStore.js"

/** EventStoreDB's system events and streams start with `$`; a ledger read never returns them. */
export const isSystemEvent = (type: string, streamId: string): boolean => type.startsWith("$") || streamId.startsWith("$")

/** True when `event` belongs in a `$all` read or subscription with `filter`; system events never do. */
export const matchesFilter = (event: RecordedEvent, filter: EventFilter | undefined): boolean => {
  if (isSystemEvent(event.type, event.streamId)) return false
  if (filter === undefined) return true
  if (filter.streamPrefixes !== undefined && !filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) return false
  if (filter.eventTypes !== undefined && !filter.eventTypes.includes(event.type)) return false
  return true
}

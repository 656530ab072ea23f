/**
 * The ledger's `EventFilter` as an EventStoreDB server-side filter. The server takes one
 * expression, on stream names or on event types, by prefixes or a regex ("Server-side
 * filtering"); the ledger's filter may name both, and event-type prefixes also match longer
 * types, so the adapter narrows on the server and then checks exactly on the client.
 */
import { eventTypeFilter, excludeSystemEvents, streamNameFilter } from "@eventstore/db-client"
import type { AllStreamSubscription, Filter, Position as EsdbPosition } from "@eventstore/db-client"
import type { EventFilter } from "../eventStore.js"

/**
 * The server-side filter for `filter`: stream prefixes when given (system streams start with `$`
 * and so never match a ledger prefix), else event-type prefixes, else the client's
 * `excludeSystemEvents` (event type regex `^[^$].*`). `checkpointReached` receives the server's
 * checkpoints (a position every 32 events read, matching or not).
 */
export const serverFilter = (
  filter: EventFilter | undefined,
  checkpointReached?: (subscription: AllStreamSubscription, position: EsdbPosition) => void
): Filter => {
  const callback = checkpointReached === undefined ? {} : { checkpointReached }
  if (filter?.streamPrefixes !== undefined && filter.streamPrefixes.length > 0) {
    return streamNameFilter({ prefixes: [...filter.streamPrefixes], ...callback })
  }
  if (filter?.eventTypes !== undefined && filter.eventTypes.length > 0) {
    return eventTypeFilter({ prefixes: [...filter.eventTypes], ...callback })
  }
  return excludeSystemEvents(callback)
}

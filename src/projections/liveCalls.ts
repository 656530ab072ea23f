/**
 * Live calls (seed 002 `GET /calls/live`, for supervisor dashboards): calls not yet ended
 * (queued, initiated, ringing, in_progress), newest first. A query on the call view's `calls`
 * table that seeks each live status in the index `calls_by_status`, so it costs the number of
 * live calls, not of all calls.
 */
import type { Direction } from "../domain/values.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { readLiveCallDocs } from "./callView.js"
import type { CallView } from "./callViewSchema.js"

export interface LiveCallsQuery {
  /** Only inbound or only outbound calls (seed 002 shows inbound ones). */
  readonly direction?: Direction | undefined
  /** At most this many, newest first; default 100, at most 1000. */
  readonly limit?: number | undefined
}

/** Calls not yet ended, newest first (started_at DESC, id DESC). */
export const readLiveCalls = (db: SqliteDatabase, query: LiveCallsQuery = {}): Array<CallView> =>
  readLiveCallDocs(db, query.direction ?? null, Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), 1000))

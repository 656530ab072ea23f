/**
 * Live calls (seed 002 `GET /calls/live`, for supervisor dashboards): calls not yet ended
 * (queued, initiated, ringing, in_progress), newest first. A query on the call view's `calls`
 * table through its partial index `calls_live` (only live calls, newest first), forced with
 * `INDEXED BY` so the cost follows the number of live calls whatever the planner's statistics say.
 */
import type Database from "better-sqlite3"
import type { Direction } from "../domain/values.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { liveStatuses } from "./callStatus.js"
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

const transferStatements = new WeakMap<SqliteDatabase, Database.Statement<[string], { n: number }>>()

/**
 * How many calls not yet ended were transferred to the agent queue `target`: the load on that
 * queue (seed 002 agent availability). Reads the partial index `calls_live`, so it costs the
 * number of live calls.
 */
export const countLiveTransfers = (db: SqliteDatabase, target: string): number => {
  let statement = transferStatements.get(db)
  if (statement === undefined) {
    statement = db.prepare(
      `SELECT count(*) AS n FROM calls INDEXED BY calls_live
       WHERE status IN (${liveStatuses.map((s) => `'${s}'`).join(", ")}) AND json_extract(doc, '$.transfer.target') = ?`
    )
    transferStatements.set(db, statement)
  }
  return statement.get(target)?.n ?? 0
}

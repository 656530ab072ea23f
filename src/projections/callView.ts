/**
 * The call view: table `calls`, one row per call, with a column for every filter and sort and the
 * full `CallView` as JSON in `doc`. Seeds: 001 (list filters campaign/date/disposition/language,
 * limit/offset, call record), 002 (outcome/sentiment/contact filters), 003 (agent, status,
 * call_type, search), 004 (direction, call SID, newest first). `call_counts` (`callCounts.ts`),
 * kept with the rows, answers the list's `total` for the broad filters without counting rows.
 */
import type Database from "better-sqlite3"
import type { CallEvent, CallEventData } from "../domain/callEvents.js"
import type { CallStatus, CallType, Direction, Disposition, Outcome, Sentiment } from "../domain/values.js"
import type { RecordedEvent } from "../store/eventStore.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { CallView } from "./callViewSchema.js"
import { callCountsOf, callCountsSchema, countedCalls, countedCampaignDisposition, countedDurations, countedStartedBetween, countsAreCurrent, recountCalls } from "./callCounts.js"
import type { CountedColumn } from "./callCounts.js"
import { advanceCallStatus, liveStatuses } from "./callStatus.js"
import { BatchRows } from "./batchRows.js"
import { changedColumnsWriter } from "./changedColumns.js"
import { mergeJson } from "./jsonMerge.js"
import { recentRowsOf } from "./recentRows.js"
import { asCallEvent, inSchema, rebuiltIndexes } from "./projection.js"
import type { Projection } from "./projection.js"
import { toUtcInstant } from "./utcInstant.js"

/** Name of the call view's checkpoint. */
export const callViewName = "call_view"

const liveStatusList = liveStatuses.map((s) => `'${s}'`).join(", ")

const schema = `
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY,
  campaign_id TEXT,
  agent_id TEXT,
  contact_id TEXT,
  contact_phone TEXT NOT NULL,
  direction TEXT NOT NULL,
  call_type TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT,
  outcome_override TEXT,
  disposition TEXT,
  sentiment TEXT,
  language TEXT COLLATE NOCASE,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  duration_seconds INTEGER NOT NULL,
  from_number TEXT,
  to_number TEXT,
  call_sid TEXT,
  revision INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_live ON calls (started_at DESC, id DESC) WHERE status IN (${liveStatusList});
CREATE VIRTUAL TABLE IF NOT EXISTS calls_search USING fts5(id, from_number, to_number, tokenize = 'trigram');
`

/**
 * The secondary indexes of `calls` a rebuild drops and creates once the table is filled, with the
 * search rows and counts: kept row by row they were most of a rebuild's writes and of what each
 * page's commit wrote (1M events: 31-33 s, 22 s when built at the end, which takes 3.5 s of it).
 * `calls_live` stays: `readLiveCallDocs` names it, and ended calls never enter it.
 * Dropped and created in the transaction that resets or finishes a rebuild, so their absence on
 * open says a rebuild was cut short (`ensureCallViewTables`).
 */
const deferredIndexes = rebuiltIndexes(`
CREATE INDEX IF NOT EXISTS calls_by_started ON calls (started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_campaign ON calls (campaign_id, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_campaign_disposition ON calls (campaign_id, disposition, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_agent ON calls (agent_id, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_contact ON calls (contact_id, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_direction ON calls (direction, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_call_type ON calls (call_type, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_status ON calls (status, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_outcome ON calls (outcome, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_disposition ON calls (disposition, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_sentiment ON calls (sentiment, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_language ON calls (language, started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS calls_by_call_sid ON calls (call_sid) WHERE call_sid IS NOT NULL;
`)

/**
 * Creates the `calls` table and its indexes if missing (the projection does it too). When a
 * rebuild was cut short (`calls` without its indexes), finishes what it left to its end.
 */
export const ensureCallViewTables = (db: SqliteDatabase): void => {
  const counted = inSchema(db, "table", "call_counts")
  const cutShort = deferredIndexes.missingFrom(db, "calls")
  db.exec(schema)
  db.exec(callCountsSchema)
  if (cutShort) deriveFromRows(db)
  else deferredIndexes.create(db)
  if (!cutShort && (!counted || !countsAreCurrent(db))) recountCalls(db)
}

/**
 * What a rebuild leaves to its end, built from the rows of `calls` in one transaction: the
 * secondary indexes (with planner statistics, as they are new), the search rows and the counts.
 */
const deriveFromRows = (db: SqliteDatabase): void => {
  db.transaction(() => {
    deferredIndexes.create(db)
    db.exec(`ANALYZE calls;
      DELETE FROM calls_search;
      INSERT INTO calls_search (rowid, id, from_number, to_number) SELECT rowid, id, from_number, to_number FROM calls;`)
    recountCalls(db)
  }).immediate()
}

/** One row of `calls`. */
interface CallRow {
  readonly id: string
  readonly campaign_id: string | null
  readonly agent_id: string | null
  readonly contact_id: string | null
  readonly contact_phone: string
  readonly direction: string
  readonly call_type: string
  readonly status: string
  readonly outcome: string | null
  readonly outcome_override: string | null
  readonly disposition: string | null
  readonly sentiment: string | null
  readonly language: string | null
  readonly started_at: string
  readonly ended_at: string | null
  readonly duration_seconds: number
  readonly from_number: string | null
  readonly to_number: string | null
  readonly call_sid: string | null
  readonly revision: number
  readonly updated_at: string
  readonly doc: string
}

const rowColumns = [
  "id", "campaign_id", "agent_id", "contact_id", "contact_phone", "direction", "call_type", "status", "outcome",
  "outcome_override", "disposition", "sentiment", "language", "started_at", "ended_at", "duration_seconds",
  "from_number", "to_number", "call_sid", "revision", "updated_at", "doc"
] as const satisfies ReadonlyArray<keyof CallRow>

const toRow = (view: CallView, outcomeOverride: Outcome | null): CallRow => ({
  id: view.id,
  campaign_id: view.campaign_id,
  agent_id: view.agent_id,
  contact_id: view.contact.id,
  contact_phone: view.contact.phone,
  direction: view.direction,
  call_type: view.call_type,
  status: view.status,
  outcome: view.outcome,
  outcome_override: outcomeOverride,
  disposition: view.disposition,
  sentiment: view.sentiment,
  language: view.language,
  started_at: view.started_at,
  ended_at: view.ended_at,
  duration_seconds: view.duration_seconds,
  from_number: view.from_number,
  to_number: view.to_number,
  call_sid: view.call_sid,
  revision: view.revision,
  updated_at: view.updated_at,
  doc: JSON.stringify(view)
})

/** The view of a call right after its `CallDialed` (revision and recordedAt from the event). */
export const callViewOnDial = (data: CallEventData<"CallDialed">, revision: number, recordedAt: string): CallView => ({
  id: data.callId,
  campaign_id: data.campaignId,
  agent_id: data.agentId,
  agent_name: data.agentName,
  script_id: data.scriptId,
  contact: { id: data.contact.id, phone: data.contact.phone, name: data.contact.name },
  direction: data.direction,
  call_type: data.callType,
  from_number: data.from,
  to_number: data.to,
  call_sid: data.callSid,
  status: data.status,
  disposition: null,
  outcome: null,
  sentiment: null,
  sentiment_score: null,
  language: data.language,
  duration_seconds: 0,
  started_at: toUtcInstant(data.at),
  answered_at: null,
  ended_at: null,
  summary: null,
  disconnection_reason: null,
  error_reason: null,
  transfer: null,
  transcript_job_id: null,
  has_recording: false,
  metadata: data.metadata,
  key_details: {},
  cost: null,
  latency: null,
  provider_usage: null,
  revision,
  updated_at: recordedAt
})

/** A call view with the outcome a disposition set, which a later `CallEnded` does not overwrite. */
export interface CallViewState {
  readonly view: CallView
  readonly outcomeOverride: Outcome | null
}

/**
 * Applies one event (not `CallDialed`, which starts a view: `callViewOnDial`) to a call's view.
 * Pure; `revision` and `recordedAt` come from the recorded event, never a clock. One copy of the
 * view per event (a second one took 0.9 s of a rebuild of 1M events).
 * Status moves only forward (queued, initiated, ringing, in_progress, then an end status), as the decider's `evolve`.
 */
export const evolveCallView = (
  state: CallViewState,
  event: Exclude<CallEvent, { type: "CallDialed" }>,
  revision: number,
  recordedAt: string
): CallViewState => {
  const before = state.view
  const keep = (view: CallView): CallViewState => ({ view, outcomeOverride: state.outcomeOverride })
  switch (event.type) {
    case "CallInitiated":
      return keep({
        ...before, revision, updated_at: recordedAt,
        status: advanceCallStatus(before.status, event),
        call_sid: event.data.callSid ?? before.call_sid
      })
    case "CallRinging":
      return keep({
        ...before, revision, updated_at: recordedAt,
        status: advanceCallStatus(before.status, event)
      })
    case "CallAnswered":
      return keep({
        ...before, revision, updated_at: recordedAt,
        status: advanceCallStatus(before.status, event),
        answered_at: toUtcInstant(event.data.at)
      })
    case "CallTranscribed":
      return keep({
        ...before, revision, updated_at: recordedAt,
        language: event.data.language ?? before.language,
        transcript_job_id: event.data.jobId ?? before.transcript_job_id
      })
    case "CallDispositioned": {
      const d = event.data
      return {
        outcomeOverride: d.outcome ?? state.outcomeOverride,
        view: {
          ...before, revision, updated_at: recordedAt,
          disposition: d.disposition ?? before.disposition,
          outcome: d.outcome ?? before.outcome,
          sentiment: d.sentiment ?? before.sentiment,
          sentiment_score: d.sentimentScore === null
            ? before.sentiment_score
            : { overall: d.sentimentScore.overall, by_speaker: d.sentimentScore.bySpeaker },
          summary: d.summary ?? before.summary,
          key_details: d.keyDetails === null ? before.key_details : mergeJson(before.key_details, d.keyDetails)
        }
      }
    }
    case "CallTransferred":
      return keep({
        ...before, revision, updated_at: recordedAt,
        transfer: {
          target: event.data.target,
          agent_brief: event.data.agentBrief,
          context: event.data.context,
          at: toUtcInstant(event.data.at)
        }
      })
    case "CallEnded": {
      const d = event.data
      return keep({
        ...before, revision, updated_at: recordedAt,
        status: advanceCallStatus(before.status, event),
        outcome: state.outcomeOverride ?? d.outcome,
        disconnection_reason: d.reason,
        duration_seconds: d.durationSeconds,
        ended_at: toUtcInstant(d.at),
        error_reason: d.errorReason
      })
    }
    case "CallRecordingAttached":
      return keep({ ...before, revision, updated_at: recordedAt, has_recording: true })
    case "CallMetadataMerged":
      return keep({ ...before, revision, updated_at: recordedAt, key_details: mergeJson(before.key_details, event.data.keyDetails) })
    case "CallMetricsRecorded": {
      const d = event.data
      return keep({
        ...before, revision, updated_at: recordedAt,
        cost: d.cost ?? before.cost,
        latency: d.latency === null
          ? before.latency
          : {
            average_transcriber_latency: d.latency.transcriberMs,
            average_agent_latency: d.latency.agentMs,
            average_synthesizer_latency: d.latency.synthesizerMs
          },
        provider_usage: d.providerUsage ?? before.provider_usage
      })
    }
  }
}

const handledTypes: ReadonlySet<string> = new Set([
  "CallDialed", "CallInitiated", "CallRinging", "CallAnswered", "CallTranscribed", "CallDispositioned",
  "CallTransferred", "CallEnded", "CallRecordingAttached", "CallMetadataMerged", "CallMetricsRecorded"
])

/** A call the projection holds in memory during a batch, written once by `flush`. */
interface PendingCall {
  state: CallViewState
  /** The row as stored when the batch first touched the call; null for a call dialed in this batch. */
  readonly stored: CallRow | null
}

/** Per database, the calls the call view holds unwritten in the running batch (read by `readCallView`). */
const pendingCalls = new WeakMap<SqliteDatabase, Array<BatchRows<PendingCall>>>()

/** A call as the call view last wrote it on this connection: its state and the row stored. */
interface WrittenCall {
  readonly state: CallViewState
  readonly row: CallRow
}

/**
 * The call view projection (`calls`). Throws, stopping the runner, on an event for a call whose
 * `CallDialed` it never saw: that is a bug or a damaged log, not something to skip.
 * Write-behind: a batch keeps each touched call in memory and `flush` writes its row once (a rebuild
 * spent its time parsing, stringifying and updating a row with its indexes for every event);
 * `readCallView` sees the unwritten state, so a later projection of the same batch reads it.
 * The rows it wrote last stay in memory (`recentRows.ts`, up to 4,096 calls), so a call's next
 * batch starts from its state without reading and parsing its row (bench/README.md, seventh
 * session of 2026-12-05). Reads outside a batch (`readStoredCallView`) still go to the file:
 * checking that no other connection wrote to it costs as much as the read.
 */
export const callViewProjection: Projection = (db) => {
  ensureCallViewTables(db)
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO calls (${rowColumns.join(", ")}) VALUES (${rowColumns.map((c) => `@${c}`).join(", ")})`
  )
  const select = db.prepare<[string], CallRow>("SELECT * FROM calls WHERE id = ?")
  // `calls_search` holds the searchable text of each call under the rowid of its `calls` row.
  const selectRowid = db.prepare<[string], { rowid: number }>("SELECT rowid FROM calls WHERE id = ?")
  const unindex = db.prepare("DELETE FROM calls_search WHERE rowid = ?")
  const index = db.prepare("INSERT INTO calls_search (rowid, id, from_number, to_number) VALUES (?, ?, ?, ?)")
  const update = changedColumnsWriter<CallRow>(db, "calls", "id", rowColumns)
  const counts = callCountsOf(db)
  const written = recentRowsOf<WrittenCall>(db, callViewName)
  const pending = new BatchRows<PendingCall>()
  const registered = pendingCalls.get(db)
  if (registered === undefined) pendingCalls.set(db, [pending])
  else registered.push(pending)
  /** True from `beginRebuild` to `endRebuild`: the search rows and counts are left to `deriveFromRows`. */
  let rebuilding = false
  const insert = (row: CallRow): void => {
    if (rebuilding) {
      upsert.run(row)
      return
    }
    // Replaces a row only when a soft-deleted call stream was started again.
    const earlier = selectRowid.get(row.id)
    if (earlier !== undefined) {
      unindex.run(earlier.rowid)
      counts.remove(select.get(row.id)!)
    }
    const { lastInsertRowid } = upsert.run(row)
    index.run(lastInsertRowid, row.id, row.from_number, row.to_number)
    counts.add(row)
  }
  const write = (call: PendingCall): void => {
    const row = toRow(call.state.view, call.state.outcomeOverride)
    if (call.stored === null) insert(row)
    else if (update(row, call.stored) && !rebuilding) counts.change(call.stored, row)
    if (!rebuilding) written.set(row.id, { state: call.state, row })
  }
  return {
    name: callViewName,
    eventTypes: handledTypes,
    apply: (recorded: RecordedEvent) => {
      const event = asCallEvent(recorded)
      const revision = Number(recorded.revision)
      const recordedAt = recorded.metadata.recordedAt
      if (event.type === "CallDialed") {
        // A call dialed again (its stream soft-deleted and started anew) moves to the end of the
        // batch's order, as its row is written after the others.
        pending.delete(event.data.callId)
        pending.set(event.data.callId, {
          state: { view: callViewOnDial(event.data, revision, recordedAt), outcomeOverride: null },
          stored: null
        })
        return
      }
      let call = pending.get(event.data.callId)
      if (call === undefined) {
        const last = written.get(event.data.callId)
        if (last !== undefined) {
          call = { state: last.state, stored: last.row }
        } else {
          const current = select.get(event.data.callId)
          if (current === undefined) {
            throw new Error(`call view: ${event.type} for unknown call ${event.data.callId} (${recorded.streamId}@${recorded.revision})`)
          }
          call = {
            state: { view: JSON.parse(current.doc) as CallView, outcomeOverride: current.outcome_override as Outcome | null },
            stored: current
          }
        }
        pending.set(event.data.callId, call)
      }
      call.state = evolveCallView(call.state, event, revision, recordedAt)
    },
    flush: () => {
      try {
        for (const call of pending.values()) write(call)
        counts.flush()
      } finally {
        pending.clear()
        written.endBatch()
      }
    },
    discard: () => {
      pending.clear()
      counts.discard()
      written.forget()
    },
    reset: () => {
      pending.clear()
      counts.discard()
      written.forget()
      db.exec("DELETE FROM calls; DELETE FROM calls_search; DELETE FROM call_counts;")
    },
    beginRebuild: () => {
      rebuilding = true
      written.forget()
      deferredIndexes.drop(db)
    },
    endRebuild: () => {
      deriveFromRows(db)
      rebuilding = false
    }
  }
}

/** `readCallView`, as the `calls` table stores it (JSON text); null for an unknown call. */
export const readStoredCallView = (db: SqliteDatabase, callId: string): StoredCallView | null => {
  for (const pending of pendingCalls.get(db) ?? []) {
    const call = pending.get(callId)
    if (call !== undefined) return { id: callId, doc: JSON.stringify(call.state.view) }
  }
  const row = statementsOf(db).byId.get(callId)
  return row === undefined ? null : { id: callId, doc: row.doc }
}

/** The view of one call, or null when the call is unknown (or not yet projected). */
export const readCallView = (db: SqliteDatabase, callId: string): CallView | null => {
  for (const pending of pendingCalls.get(db) ?? []) {
    const call = pending.get(callId)
    if (call !== undefined) return call.state.view
  }
  const row = statementsOf(db).byId.get(callId)
  return row === undefined ? null : (JSON.parse(row.doc) as CallView)
}

/** The views of the given calls, in the order of `ids`; unknown ids are left out (seed 003 batch fetch). */
export const readCallViews = (db: SqliteDatabase, ids: ReadonlyArray<string>): Array<CallView> => {
  if (ids.length === 0) return []
  const rows = statementsOf(db).byIds.all(JSON.stringify(ids))
  const byId = new Map(rows.map((r) => [r.id, r.doc]))
  const out: Array<CallView> = []
  const seen = new Set<string>()
  for (const id of ids) {
    const doc = byId.get(id)
    if (doc !== undefined && !seen.has(id)) {
      seen.add(id)
      out.push(JSON.parse(doc) as CallView)
    }
  }
  return out
}

/** A query of `GET /calls`. Every filter is optional; absent means any value. */
export interface CallListQuery {
  readonly campaignId?: string | undefined
  readonly agentId?: string | undefined
  readonly contactId?: string | undefined
  readonly direction?: Direction | undefined
  readonly callType?: CallType | undefined
  readonly status?: CallStatus | undefined
  readonly outcome?: Outcome | undefined
  readonly disposition?: Disposition | undefined
  readonly sentiment?: Sentiment | undefined
  /** BCP-47 tag, matched case-insensitively (`hi-in` finds `hi-IN`). */
  readonly language?: string | undefined
  /** ISO-8601 instant, inclusive: calls that started at or after it. */
  readonly startedFrom?: string | undefined
  /** ISO-8601 instant, inclusive: calls that started at or before it. */
  readonly startedTo?: string | undefined
  /** Substring of the call id, from number or to number, any case (seed 003 `search`, seed 004 phone search). */
  readonly search?: string | undefined
  /** Seconds, inclusive. */
  readonly minDuration?: number | undefined
  /** Seconds, inclusive. */
  readonly maxDuration?: number | undefined
  /** Page size, 1..100, default 20. */
  readonly limit?: number | undefined
  /** Rows to skip, default 0; ignored when `cursor` is given. */
  readonly offset?: number | undefined
  /** `next_cursor` of the previous page: continues after its last call, stable while new calls arrive. */
  readonly cursor?: string | undefined
}

/** A call view as the `calls` table stores it: its id and the view as JSON text. */
export interface StoredCallView {
  readonly id: string
  readonly doc: string
}

/** A page of calls, newest first (started_at DESC, id DESC). */
export interface CallListPage {
  /** The calls, parsed from `stored` on first use. */
  readonly data: Array<CallView>
  /** The same calls as stored, for a caller that writes them out as JSON again (the HTTP list). */
  readonly stored: ReadonlyArray<StoredCallView>
  /** Calls matching the filters (the cursor and offset aside). */
  readonly total: number
  /** Opaque cursor continuing after the last call of `data`; null when there is nothing after it. */
  readonly next_cursor: string | null
  readonly has_more: boolean
}

/** A query `listCalls` cannot run: bad limit, offset, instant or cursor. The API answers 400. */
export class InvalidCallQuery extends Error {
  /** The `CallListQuery` field at fault: `limit`, `offset`, `cursor`, `startedFrom` or `startedTo`. */
  constructor(readonly field: string, message: string) {
    super(message)
    this.name = "InvalidCallQuery"
  }
}

/** Encodes a keyset cursor: base64url of `[started_at, id]`. */
export const encodeCallCursor = (startedAt: string, id: string): string =>
  Buffer.from(JSON.stringify([startedAt, id]), "utf8").toString("base64url")

const decodeCallCursor = (cursor: string): readonly [string, string] => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") {
      return [value[0], value[1]]
    }
  } catch {
    // falls through to the error below
  }
  throw new InvalidCallQuery("cursor", "cursor is not one this API returned")
}

const equalityFilters = [
  ["campaignId", "campaign_id"],
  ["agentId", "agent_id"],
  ["contactId", "contact_id"],
  ["direction", "direction"],
  ["callType", "call_type"],
  ["status", "status"],
  ["outcome", "outcome"],
  ["disposition", "disposition"],
  ["sentiment", "sentiment"],
  ["language", "language"]
] as const

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`)

interface Statements {
  readonly byId: Database.Statement<[string], { doc: string }>
  readonly byIds: Database.Statement<[string], { id: string; doc: string }>
  readonly live: Database.Statement<[{ direction: string | null; limit: number }], { doc: string }>
  /** List and count statements per filter shape. */
  readonly shapes: Map<string, { list: Database.Statement; count: Database.Statement }>
}

const statements = new WeakMap<SqliteDatabase, Statements>()

const statementsOf = (db: SqliteDatabase): Statements => {
  let s = statements.get(db)
  if (s === undefined) {
    s = {
      byId: db.prepare("SELECT doc FROM calls WHERE id = ?"),
      byIds: db.prepare("SELECT id, doc FROM calls WHERE id IN (SELECT value FROM json_each(?))"),
      live: db.prepare(
        `SELECT doc FROM calls INDEXED BY calls_live WHERE status IN (${liveStatusList}) AND (@direction IS NULL OR direction = @direction)
         ORDER BY started_at DESC, id DESC LIMIT CAST(@limit AS INTEGER)`
      ),
      shapes: new Map()
    }
    statements.set(db, s)
  }
  return s
}

/** Newest-first live calls (queued, initiated, ringing, in_progress); see `liveCalls.ts`. */
export const readLiveCallDocs = (db: SqliteDatabase, direction: Direction | null, limit: number): Array<CallView> =>
  statementsOf(db).live.all({ direction, limit }).map((r) => JSON.parse(r.doc) as CallView)

const checkInt = (name: string, value: number, min: number, max: number): number => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidCallQuery(name, `${name} must be an integer from ${min} to ${max}`)
  }
  return value
}

const instantParam = (name: string, value: string): string => {
  try {
    return toUtcInstant(value)
  } catch {
    throw new InvalidCallQuery(name, `${name} must be an ISO-8601 instant`)
  }
}

/**
 * Lists calls newest first (started_at DESC, id DESC) with `total` = calls matching the filters.
 * Offset pagination (`limit`, `offset`) as seeds 001/002; keyset pagination with `cursor`, which
 * stays correct while newer calls are added. Throws `InvalidCallQuery`.
 */
export const listCalls = (db: SqliteDatabase, query: CallListQuery): CallListPage => {
  const limit = checkInt("limit", query.limit ?? 20, 1, 100)
  const offset = query.cursor === undefined ? checkInt("offset", query.offset ?? 0, 0, Number.MAX_SAFE_INTEGER) : 0
  const where: Array<string> = []
  const params: Record<string, unknown> = {}
  const shape: Array<string> = []
  for (const [key, column] of equalityFilters) {
    const value = query[key]
    if (value !== undefined) {
      where.push(`${column} = @${key}`)
      params[key] = value
      shape.push(key)
    }
  }
  if (query.startedFrom !== undefined) {
    where.push("started_at >= @startedFrom")
    params.startedFrom = instantParam("startedFrom", query.startedFrom)
    shape.push("startedFrom")
  }
  if (query.startedTo !== undefined) {
    where.push("started_at <= @startedTo")
    params.startedTo = instantParam("startedTo", query.startedTo)
    shape.push("startedTo")
  }
  if (query.search !== undefined && query.search !== "") {
    if ([...query.search].length >= 3) {
      // The trigram index finds substrings of 3 characters or more without scanning every call.
      where.push("rowid IN (SELECT rowid FROM calls_search WHERE calls_search MATCH @search)")
      params.search = `"${query.search.replace(/"/g, '""')}"`
      shape.push("search")
    } else {
      where.push(
        "(id LIKE @search ESCAPE '\\' OR from_number LIKE @search ESCAPE '\\' OR to_number LIKE @search ESCAPE '\\')"
      )
      params.search = `%${escapeLike(query.search)}%`
      shape.push("shortSearch")
    }
  }
  if (query.minDuration !== undefined) {
    where.push("duration_seconds >= @minDuration")
    params.minDuration = checkInt("minDuration", query.minDuration, 0, Number.MAX_SAFE_INTEGER)
    shape.push("minDuration")
  }
  if (query.maxDuration !== undefined) {
    where.push("duration_seconds <= @maxDuration")
    params.maxDuration = checkInt("maxDuration", query.maxDuration, 0, Number.MAX_SAFE_INTEGER)
    shape.push("maxDuration")
  }
  const filterWhere = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`
  const listWhere = [...where]
  if (query.cursor !== undefined) {
    const [startedAt, id] = decodeCallCursor(query.cursor)
    listWhere.push("(started_at, id) < (@cursorStartedAt, @cursorId)")
    params.cursorStartedAt = startedAt
    params.cursorId = id
    if (typeof params.startedTo === "string") {
      // One upper bound for the index range: the planner takes `startedTo` over the cursor's row
      // value and would walk every call between them.
      listWhere[listWhere.indexOf("started_at <= @startedTo")] = "started_at <= @listStartedTo"
      params.listStartedTo = startedAt < params.startedTo ? startedAt : params.startedTo
    }
    shape.push("cursor")
  }
  const s = statementsOf(db)
  const shapeKey = shape.join(",")
  let prepared = s.shapes.get(shapeKey)
  if (prepared === undefined) {
    prepared = {
      list: db.prepare(
        `SELECT id, started_at, doc FROM calls ${listWhere.length === 0 ? "" : `WHERE ${listWhere.join(" AND ")}`}
         ORDER BY started_at DESC, id DESC LIMIT CAST(@limit AS INTEGER) OFFSET CAST(@offset AS INTEGER)`
      ),
      count: db.prepare(`SELECT count(*) AS total FROM calls ${filterWhere}`)
    }
    s.shapes.set(shapeKey, prepared)
  }
  const { cursorStartedAt: _a, cursorId: _b, listStartedTo: _c, ...countParams } = params
  const rows = prepared.list.all({ ...params, limit: limit + 1, offset }) as Array<{ id: string; started_at: string; doc: string }>
  const total = countOf(db, countParams, shape, () => (prepared.count.get(countParams) as { total: number }).total)
  const hasMore = rows.length > limit
  const page = hasMore ? rows.slice(0, limit) : rows
  const last = page[page.length - 1]
  return new StoredCallPage(page, total, hasMore && last !== undefined ? encodeCallCursor(last.started_at, last.id) : null, hasMore)
}

/**
 * A `CallListPage` that parses `stored` into `data` on first read. A class rather than an object
 * literal with a getter: V8 keeps an accessor in the object's map, so a literal with a new getter
 * closure per call made a new map (old generation) per page, which kept the page's rows alive
 * through every young-generation scavenge until a full GC (~1.8 MB promoted per scavenge serving
 * `GET /v1/calls`, the list latency tails of `npm run bench`).
 */
class StoredCallPage implements CallListPage {
  #data: Array<CallView> | undefined
  constructor(
    readonly stored: ReadonlyArray<StoredCallView>,
    readonly total: number,
    readonly next_cursor: string | null,
    readonly has_more: boolean
  ) {}
  get data(): Array<CallView> {
    return (this.#data ??= this.stored.map((r) => JSON.parse(r.doc) as CallView))
  }
}

const countedFilters: ReadonlyMap<string, CountedColumn> = new Map(
  equalityFilters.filter(([, column]) => column !== "contact_id") as Array<readonly [string, CountedColumn]>
)

/** `total` from `call_counts` when the filters are at most one counted equality, campaign and disposition, a duration or a start range; else `count` runs. */
const countOf = (db: SqliteDatabase, params: Record<string, unknown>, shape: ReadonlyArray<string>, count: () => number): number => {
  const filters = shape.filter((key) => key !== "cursor")
  if (filters.length === 0) return countedCalls(db, null, "")
  if (filters.every((key) => key === "minDuration" || key === "maxDuration")) {
    return countedDurations(db, (params.minDuration as number | undefined) ?? 0, (params.maxDuration as number | undefined) ?? Number.MAX_SAFE_INTEGER)
  }
  if (filters.every((key) => key === "startedFrom" || key === "startedTo")) {
    return countedStartedBetween(db, params.startedFrom as string | undefined, params.startedTo as string | undefined) ?? count()
  }
  if (filters.length === 1) {
    const column = countedFilters.get(filters[0]!)
    if (column !== undefined) return countedCalls(db, column, params[filters[0]!] as string)
  }
  if (filters.length === 2 && filters.includes("campaignId") && filters.includes("disposition")) {
    return countedCampaignDisposition(db, params.campaignId as string, params.disposition as string)
  }
  return count()
}

/**
 * The dialing work, kept in the ledger's SQLite file so it survives a restart: one row per number
 * to dial (`dial_jobs`: a `POST /v1/calls` call, or one number of a `POST /v1/calls/batch`) and
 * one per batch (`dial_batches`). A job is `queued` until its turn, then `initiated` (handed to the
 * dialer, which accepted it) or `failed` with the reason (seed 004's batch status).
 */
import type { JsonObject } from "../../domain/values.js"
import type { SqliteDatabase } from "../../store/sqlite/sqliteDatabase.js"

const schema = `
CREATE TABLE IF NOT EXISTS dial_batches (
  id TEXT PRIMARY KEY,
  total INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dial_jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id TEXT REFERENCES dial_batches (id),
  position INTEGER NOT NULL,
  call_id TEXT NOT NULL UNIQUE,
  to_number TEXT NOT NULL,
  status TEXT NOT NULL,
  call_recorded INTEGER NOT NULL,
  call_sid TEXT,
  error TEXT,
  details TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dial_jobs_by_batch ON dial_jobs (batch_id, position) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS dial_jobs_queued ON dial_jobs (seq) WHERE status = 'queued';
`

export type DialJobStatus = "queued" | "initiated" | "failed"

/** What the call is recorded with: `POST /v1/calls`' or the batch's shared fields (seed 004). */
export interface DialDetails {
  readonly from: string | null
  readonly contactName: string | null
  readonly contactId: string | null
  readonly campaignId: string | null
  readonly agentId: string | null
  readonly agentName: string | null
  readonly scriptId: string | null
  readonly language: string | null
  readonly metadata: JsonObject
}

export interface DialJob {
  readonly seq: number
  /** Null for a single call (`POST /v1/calls`). */
  readonly batchId: string | null
  /** Index of the number in its batch, 0 for a single call. */
  readonly position: number
  readonly callId: string
  readonly toNumber: string
  readonly status: DialJobStatus
  /** True once the ledger has the call (`CallDialed`); a batch number refused before dialing has none. */
  readonly callRecorded: boolean
  readonly callSid: string | null
  readonly error: string | null
  readonly details: DialDetails
  readonly createdAt: string
  readonly updatedAt: string
}

export interface DialBatch {
  readonly id: string
  readonly total: number
  readonly createdAt: string
}

interface JobRow {
  readonly seq: number
  readonly batch_id: string | null
  readonly position: number
  readonly call_id: string
  readonly to_number: string
  readonly status: DialJobStatus
  readonly call_recorded: number
  readonly call_sid: string | null
  readonly error: string | null
  readonly details: string
  readonly created_at: string
  readonly updated_at: string
}

const toJob = (row: JobRow): DialJob => ({
  seq: row.seq,
  batchId: row.batch_id,
  position: row.position,
  callId: row.call_id,
  toNumber: row.to_number,
  status: row.status,
  callRecorded: row.call_recorded === 1,
  callSid: row.call_sid,
  error: row.error,
  details: JSON.parse(row.details) as DialDetails,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

/** The tables' statements. Creates the tables if missing. */
export const dialJobStore = (db: SqliteDatabase) => {
  db.exec(schema)
  const insertJob = db.prepare(
    `INSERT OR IGNORE INTO dial_jobs (batch_id, position, call_id, to_number, status, call_recorded, details, created_at, updated_at)
     VALUES (@batchId, @position, @callId, @toNumber, 'queued', @callRecorded, @details, @now, @now)`
  )
  const insertBatch = db.prepare("INSERT OR IGNORE INTO dial_batches (id, total, created_at) VALUES (?, ?, ?)")
  const bySeq = db.prepare<[number], JobRow>("SELECT * FROM dial_jobs WHERE seq = ?")
  const byCallId = db.prepare<[string], JobRow>("SELECT * FROM dial_jobs WHERE call_id = ?")
  const ofBatch = db.prepare<[string], JobRow>("SELECT * FROM dial_jobs WHERE batch_id = ? ORDER BY position")
  const batch = db.prepare<[string], { id: string; total: number; created_at: string }>("SELECT id, total, created_at FROM dial_batches WHERE id = ?")
  const queued = db.prepare<[], { seq: number }>("SELECT seq FROM dial_jobs WHERE status = 'queued' ORDER BY seq")
  const settle = db.prepare(
    `UPDATE dial_jobs SET status = @status, call_sid = @callSid, error = @error, updated_at = @now
     WHERE seq = @seq AND status = 'queued'`
  )
  const recorded = db.prepare("UPDATE dial_jobs SET call_recorded = 1, updated_at = ? WHERE seq = ?")

  return {
    /** Queues one recorded call; a second insert for the same call id is ignored (`added` false). */
    addCall: (callId: string, toNumber: string, details: DialDetails, now: string): { readonly seq: number; readonly added: boolean } => {
      const added = insertJob.run({ batchId: null, position: 0, callId, toNumber, callRecorded: 1, details: JSON.stringify(details), now }).changes > 0
      return { seq: byCallId.get(callId)!.seq, added }
    },
    /** Queues a batch, its numbers in order, in one transaction; a batch id seen before is left as it is. */
    addBatch: (
      batchId: string,
      numbers: ReadonlyArray<{ readonly toNumber: string; readonly callId: string }>,
      details: DialDetails,
      now: string
    ): void => {
      db.transaction(() => {
        if (insertBatch.run(batchId, numbers.length, now).changes === 0) return
        const json = JSON.stringify(details)
        numbers.forEach((n, position) =>
          insertJob.run({ batchId, position, callId: n.callId, toNumber: n.toNumber, callRecorded: 0, details: json, now })
        )
      })()
    },
    job: (seq: number): DialJob | null => {
      const row = bySeq.get(seq)
      return row === undefined ? null : toJob(row)
    },
    batch: (batchId: string): { readonly batch: DialBatch; readonly jobs: ReadonlyArray<DialJob> } | null => {
      const row = batch.get(batchId)
      if (row === undefined) return null
      return { batch: { id: row.id, total: row.total, createdAt: row.created_at }, jobs: ofBatch.all(batchId).map(toJob) }
    },
    /** Jobs of the batch in number order (seqs), for scheduling. */
    batchSeqs: (batchId: string): ReadonlyArray<number> => ofBatch.all(batchId).map((r) => r.seq),
    /** Every job still queued, oldest first: what a restart resumes. */
    queuedSeqs: (): ReadonlyArray<number> => queued.all().map((r) => r.seq),
    markRecorded: (seq: number, now: string): void => {
      recorded.run(now, seq)
    },
    /** Moves a queued job to `initiated` or `failed`; a job already settled stays as it is. */
    settle: (seq: number, status: Exclude<DialJobStatus, "queued">, callSid: string | null, error: string | null, now: string): void => {
      settle.run({ seq, status, callSid, error, now })
    }
  }
}

export type DialJobStore = ReturnType<typeof dialJobStore>

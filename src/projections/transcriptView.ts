/**
 * The transcript view (seed 001 `GET /calls/{id}/transcript`): segments per call in the order
 * speech-to-text delivered them, with the call's language, duration, summary and sentiment.
 * Keeps its own copy of those fields, so it can be rebuilt without the call view.
 */
import type Database from "better-sqlite3"
import type { SentimentScore } from "../domain/callEvents.js"
import type { Speaker } from "../domain/values.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { BatchRows } from "./batchRows.js"
import { asCallEvent } from "./projection.js"
import type { Projection } from "./projection.js"

/** Name of the transcript view's checkpoint. */
export const transcriptViewName = "transcript"

const schema = `
CREATE TABLE IF NOT EXISTS transcripts (
  call_id TEXT PRIMARY KEY,
  job_id TEXT,
  language TEXT,
  final INTEGER NOT NULL,
  segment_count INTEGER NOT NULL,
  duration_seconds INTEGER,
  summary TEXT,
  sentiment TEXT
);
CREATE TABLE IF NOT EXISTS transcript_segments (
  call_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  speaker TEXT NOT NULL,
  text TEXT NOT NULL,
  start_time REAL NOT NULL,
  end_time REAL NOT NULL,
  confidence REAL,
  PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;
`

/** One segment as seed 001 shows it: times in seconds from the answer, confidence 0..1 or null. */
export interface TranscriptSegmentView {
  readonly speaker: Speaker
  readonly text: string
  readonly start_time: number
  readonly end_time: number
  readonly confidence: number | null
}

/** A finished transcript (seed 001 response). `sentiment` scores are in -1..1. */
export interface CompletedTranscript {
  readonly call_id: string
  readonly job_id: string | null
  readonly status: "completed"
  readonly language: string | null
  /** The call's duration once it ended; before that, the end of the last segment, rounded. */
  readonly duration_seconds: number
  readonly transcript: Array<TranscriptSegmentView>
  readonly summary: string | null
  readonly sentiment: { readonly overall: number; readonly by_speaker: Record<string, number> } | null
}

/** The transcript before its final batch arrived (seed 001 `{"status": "processing"}`). */
export interface ProcessingTranscript {
  readonly call_id: string
  readonly status: "processing"
}

export type TranscriptView = CompletedTranscript | ProcessingTranscript

interface TranscriptRow {
  readonly call_id: string
  readonly job_id: string | null
  readonly language: string | null
  readonly final: number
  readonly segment_count: number
  readonly duration_seconds: number | null
  readonly summary: string | null
  readonly sentiment: string | null
}

const sentimentJson = (score: SentimentScore): string =>
  JSON.stringify({ overall: score.overall, by_speaker: score.bySpeaker })

type MutableRow = { -readonly [K in keyof TranscriptRow]: TranscriptRow[K] }

/** A transcript head held in memory during a batch. */
interface PendingTranscript {
  readonly row: MutableRow
  /** The head as stored when the batch first touched the call; null when it is written anew. */
  readonly stored: TranscriptRow | null
}

const headColumns = [
  "call_id", "job_id", "language", "final", "segment_count", "duration_seconds", "summary", "sentiment"
] as const satisfies ReadonlyArray<keyof TranscriptRow>

/**
 * The transcript projection (`transcripts`, `transcript_segments`). Segments are inserted as they
 * come; each call's head row is kept in memory during a batch and written once by `flush`.
 */
export const transcriptProjection: Projection = (db) => {
  db.exec(schema)
  const clear = db.prepare("DELETE FROM transcript_segments WHERE call_id = ?")
  const write = db.prepare(
    `INSERT OR REPLACE INTO transcripts (${headColumns.join(", ")}) VALUES (${headColumns.map((c) => `@${c}`).join(", ")})`
  )
  const select = db.prepare<[string], TranscriptRow>("SELECT * FROM transcripts WHERE call_id = ?")
  const insertSegment = db.prepare(
    `INSERT INTO transcript_segments (call_id, seq, speaker, text, start_time, end_time, confidence)
     VALUES (?, ?, ?, ?, ?, ?, ?)`
  )
  const pending = new BatchRows<PendingTranscript>()
  /** The call's head, or undefined when the call was never dialed. */
  const headOf = (callId: string): MutableRow | undefined => {
    const call = pending.get(callId)
    if (call !== undefined) return call.row
    const stored = select.get(callId)
    if (stored === undefined) return undefined
    const row = { ...stored }
    pending.set(callId, { row, stored })
    return row
  }
  return {
    name: transcriptViewName,
    eventTypes: new Set(["CallDialed", "CallTranscribed", "CallDispositioned", "CallEnded"]),
    apply: (recorded) => {
      const event = asCallEvent(recorded)
      switch (event.type) {
        case "CallDialed":
          clear.run(event.data.callId)
          pending.set(event.data.callId, {
            row: {
              call_id: event.data.callId,
              job_id: null,
              language: event.data.language,
              final: 0,
              segment_count: 0,
              duration_seconds: null,
              summary: null,
              sentiment: null
            },
            stored: null
          })
          return
        case "CallTranscribed": {
          const d = event.data
          const row = headOf(d.callId)
          if (row === undefined) throw new Error(`transcript: segments for unknown call ${d.callId}`)
          let seq = row.segment_count
          for (const s of d.segments) {
            insertSegment.run(d.callId, seq++, s.speaker, s.text, s.startTime, s.endTime, s.confidence)
          }
          row.job_id = d.jobId ?? row.job_id
          row.language = d.language ?? row.language
          row.final = Math.max(row.final, d.final ? 1 : 0)
          row.segment_count = seq
          return
        }
        case "CallDispositioned": {
          const d = event.data
          const row = headOf(d.callId)
          if (row === undefined) return
          row.summary = d.summary ?? row.summary
          row.sentiment = (d.sentimentScore === null ? null : sentimentJson(d.sentimentScore)) ?? row.sentiment
          return
        }
        case "CallEnded": {
          const row = headOf(event.data.callId)
          if (row !== undefined) row.duration_seconds = event.data.durationSeconds
          return
        }
        default:
          return
      }
    },
    flush: () => {
      try {
        for (const { row, stored } of pending.values()) {
          if (stored === null || headColumns.some((c) => stored[c] !== row[c])) write.run(row)
        }
      } finally {
        pending.clear()
      }
    },
    discard: () => {
      pending.clear()
    },
    reset: () => {
      pending.clear()
      db.exec("DELETE FROM transcript_segments; DELETE FROM transcripts;")
    }
  }
}

const readStatements = new WeakMap<SqliteDatabase, {
  readonly head: Database.Statement
  readonly segments: Database.Statement
}>()

/**
 * The transcript of a call: `completed` with its segments once a final `CallTranscribed` arrived,
 * `processing` before, null for an unknown call.
 */
export const readTranscript = (db: SqliteDatabase, callId: string): TranscriptView | null => {
  let s = readStatements.get(db)
  if (s === undefined) {
    s = {
      head: db.prepare("SELECT * FROM transcripts WHERE call_id = ?"),
      segments: db.prepare(
        "SELECT speaker, text, start_time, end_time, confidence FROM transcript_segments WHERE call_id = ? ORDER BY seq"
      )
    }
    readStatements.set(db, s)
  }
  const row = s.head.get(callId) as TranscriptRow | undefined
  if (row === undefined) return null
  if (row.final === 0) return { call_id: callId, status: "processing" }
  const transcript = s.segments.all(callId) as Array<TranscriptSegmentView>
  const lastEnd = transcript.reduce((max, seg) => Math.max(max, seg.end_time), 0)
  return {
    call_id: callId,
    job_id: row.job_id,
    status: "completed",
    language: row.language,
    duration_seconds: row.duration_seconds ?? Math.round(lastEnd),
    transcript,
    summary: row.summary,
    sentiment: row.sentiment === null ? null : JSON.parse(row.sentiment) as CompletedTranscript["sentiment"]
  }
}

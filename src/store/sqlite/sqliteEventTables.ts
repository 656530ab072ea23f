/**
 * The log's tables in the ledger's SQLite file. `events.position` is the rowid, so the global
 * position is one INTEGER sequence from 1 in commit order (SQLite has one writer at a time, so a
 * reader never sees a later position before an earlier one). A stream's last revision is read from
 * `events` (its `(stream_id, revision)` index); `streams` holds a row only for a stream that was
 * deleted (`truncate_before`: revisions below it are hidden) or tombstoned, so an append writes
 * nothing but its events and a `$all` read joins a table of a few rows. Event ids have no index of
 * their own: they are looked up only to recognise a retried append, within its stream (through
 * `(stream_id, revision)`), and an index of their random keys (UUID v5) cost every append a write
 * to a random page: without it the append figure's command path ran 26k to 29k events/s instead of
 * 20k to 21k, and raw inserts of the same rows 100k to 114k rows/s instead of 24k to 27k
 * (`npm run bench`, bench/README.md). Files from before lose that index on open.
 */
import type { SqliteDatabase } from "./sqliteDatabase.js"

/** Creates the `events` and `streams` tables and their indexes when missing; safe to call on every open. */
export const ensureEventTables = (db: SqliteDatabase): void => {
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (
      position INTEGER PRIMARY KEY,
      event_id TEXT NOT NULL,
      stream_id TEXT NOT NULL,
      revision INTEGER NOT NULL,
      type TEXT NOT NULL,
      data TEXT NOT NULL,
      metadata TEXT NOT NULL,
      UNIQUE (stream_id, revision)
    );
    DROP INDEX IF EXISTS events_by_event_id;
    CREATE TABLE IF NOT EXISTS streams (
      stream_id TEXT PRIMARY KEY,
      last_revision INTEGER NOT NULL,
      truncate_before INTEGER NOT NULL DEFAULT 0,
      tombstoned INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
  `)
  // Files written before streams kept only deletions held a row per stream: drop the rows that hide nothing.
  db.exec("DELETE FROM streams WHERE truncate_before = 0 AND tombstoned = 0")
}

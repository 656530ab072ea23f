/**
 * A projection: a read model in SQLite fed from `$all`. The projection runner applies each event
 * to every projection whose checkpoint is behind it, inside one transaction per batch that also
 * writes the checkpoints, so a crash never applies an event twice or skips one.
 * `apply` must depend on the event and the projection's own tables only (no clock), so a rebuild
 * from zero gives the same rows (a projection whose rows are also history, as the webhook outbox's
 * deliveries, keeps them through a reset instead).
 */
import type { CallEvent } from "../domain/callEvents.js"
import type { Position, RecordedEvent } from "../store/eventStore.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"

export interface ProjectionHandler {
  /** Stable name, the key of its checkpoint. */
  readonly name: string
  /** Event types it reads; others are skipped without a call. */
  readonly eventTypes: ReadonlySet<string>
  /** Streams it reads from, by prefix (default: the call streams, `call-`); the runner subscribes to the union. */
  readonly streamPrefixes?: ReadonlyArray<string> | undefined
  /** Applies one event; runs inside the runner's transaction. */
  readonly apply: (event: RecordedEvent) => void
  /**
   * Deletes every row of the read model, for a rebuild from zero (the webhook outbox keeps its
   * deliveries, and the position below). `checkpoint` is the position the projection had applied
   * up to before it (null when it never applied an event); runs in the rebuild's first transaction.
   */
  readonly reset: (checkpoint: Position | null) => void
  /**
   * Writes what `apply` kept in memory during the batch (write-behind); the runner calls it once
   * per batch, inside the batch's transaction, after every event and before the checkpoints.
   */
  readonly flush?: (() => void) | undefined
  /**
   * Drops what `apply` kept in memory, and any row `flush` kept beyond the batch: the batch's
   * transaction rolled back, because something threw or its COMMIT failed (after `flush` ran).
   */
  readonly discard?: (() => void) | undefined
  /**
   * Called by a rebuild right after `reset`, in the same transaction: the read model may stop
   * maintaining what can be derived in bulk from its rows at the end (secondary indexes, search
   * and count tables). It must be crash-safe: if `endRebuild` never runs, building the projection
   * on the next open (its constructor) must bring those structures back from the rows.
   */
  readonly beginRebuild?: (() => void) | undefined
  /** Called once a rebuild reached the head, in its own transaction: rebuilds what `beginRebuild` dropped. */
  readonly endRebuild?: (() => void) | undefined
}

/** Whether the database's schema has a table or an index of that name. */
export const inSchema = (db: SqliteDatabase, type: "table" | "index", name: string): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?").get(type, name) !== undefined

/**
 * Secondary indexes a projection drops for a rebuild (`beginRebuild`) and creates once at its end
 * (`endRebuild`), from a script of `CREATE INDEX IF NOT EXISTS` statements.
 */
export const rebuiltIndexes = (script: string) => {
  const names = [...script.matchAll(/INDEX IF NOT EXISTS (\w+)/g)].map((m) => m[1]!)
  return {
    create: (db: SqliteDatabase): void => {
      db.exec(script)
    },
    drop: (db: SqliteDatabase): void => {
      for (const name of names) db.exec(`DROP INDEX IF EXISTS ${name}`)
    },
    /** Whether `table` exists without them: a rebuild was cut short before its end. */
    missingFrom: (db: SqliteDatabase, table: string): boolean => inSchema(db, "table", table) && !inSchema(db, "index", names[0]!)
  }
}

/** Builds a projection over a database: creates its tables if missing and prepares its statements. */
export type Projection = (db: SqliteDatabase) => ProjectionHandler

/**
 * The call event a recorded event carries. The write path encodes `data` from the domain schemas,
 * so the projections trust its shape instead of decoding every event again (cost at a rebuild).
 */
export const asCallEvent = (event: RecordedEvent): CallEvent => ({ type: event.type, data: event.data }) as CallEvent

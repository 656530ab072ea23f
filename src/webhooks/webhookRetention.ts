/**
 * Retention of finished webhook deliveries. A delivery that ended (delivered, failed after its
 * last retry, or canceled when its endpoint was disabled) is kept with its attempts for
 * `retentionMillis` after it ended (`LEDGER_WEBHOOK_RETENTION_MS`, 30 days by default: as long as
 * Stripe lists its events), then deleted, so the outbox holds about a month of deliveries instead
 * of every one ever sent. Pending deliveries are never deleted, however old. The events stay in
 * the log, and a rebuild of the outbox does not write the deleted deliveries again
 * (`webhookOutbox.ts`, its high-water mark). On EventStoreDB the claim streams
 * (`webhook-delivery-<id>`) stay in the log.
 */
import type { Effect } from "effect"
import type { Statement } from "better-sqlite3"
import { pruneInChunksPeriodically } from "../store/sqlite/periodicPruning.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { ensureWebhookTables } from "./webhookTables.js"

/** How long a finished delivery is kept by default: 30 days, in ms. */
export const defaultWebhookRetentionMillis = 30 * 86_400_000

/** Deliveries deleted per transaction, so the pruning never holds the write lock long. */
const deliveriesPerPruneChunk = 500

interface PruneStatements {
  readonly selectEnded: Statement<[number, number, number], { id: string }>
  readonly deleteAttempts: Statement<[string]>
  readonly deleteFinished: Statement<[string]>
}

const statementsByDb = new WeakMap<SqliteDatabase, PruneStatements>()

const statementsOf = (db: SqliteDatabase): PruneStatements => {
  let statements = statementsByDb.get(db)
  if (statements === undefined) {
    ensureWebhookTables(db)
    statements = {
      // When it ended: delivered, its delivery; failed, its last attempt; canceled, when its
      // endpoint was disabled. It ended after it was created, so `created_at` bounds the scan
      // along its index.
      selectEnded: db.prepare(
        `SELECT d.id FROM webhook_deliveries d
         WHERE d.created_at < ? AND d.status != 'pending'
           AND CASE d.status
                 WHEN 'canceled' THEN coalesce((SELECT e.disabled_at FROM webhook_endpoints e WHERE e.id = d.endpoint_id), d.last_attempt_at, d.created_at)
                 ELSE coalesce(d.delivered_at, d.last_attempt_at, d.created_at)
               END < ?
         ORDER BY d.created_at LIMIT ?`
      ),
      deleteAttempts: db.prepare("DELETE FROM webhook_attempts WHERE delivery_id = ?"),
      deleteFinished: db.prepare("DELETE FROM webhook_deliveries WHERE id = ? AND status != 'pending'")
    }
    statementsByDb.set(db, statements)
  }
  return statements
}

/**
 * Deletes up to `limit` deliveries that ended before `endedBefore` (ms since the epoch), with
 * their attempts, in one transaction, the earliest created first; returns how many it deleted.
 */
export const pruneFinishedDeliveries = (db: SqliteDatabase, endedBefore: number, limit: number = deliveriesPerPruneChunk): number => {
  const { deleteAttempts, deleteFinished, selectEnded } = statementsOf(db)
  return db.transaction(() => {
    let deleted = 0
    for (const { id } of selectEnded.all(endedBefore, endedBefore, limit)) {
      deleteAttempts.run(id)
      deleted += deleteFinished.run(id).changes
    }
    return deleted
  }).immediate()
}

/**
 * Deletes the deliveries that ended more than `retentionMillis` ago (at least 1 ms) now, then
 * every `min(retention, 1 hour)` (at least every second) by Effect's `Clock`, a chunk at a time;
 * a failed pass is logged and the next one tries again. Never ends: fork it in a scope.
 */
export const pruneFinishedDeliveriesPeriodically = (db: SqliteDatabase, retentionMillis: number): Effect.Effect<never> =>
  pruneInChunksPeriodically({
    label: "webhook deliveries",
    retentionMillis,
    longestPeriodMillis: 3_600_000,
    deleteChunk: (cutoff) => pruneFinishedDeliveries(db, cutoff),
    chunkSize: deliveriesPerPruneChunk
  })

/**
 * Retention of finished webhook deliveries. A delivery that ended (delivered, failed after its
 * last retry, or canceled with its endpoint) is kept with its attempts for `retentionMillis` after
 * it ended (`LEDGER_WEBHOOK_RETENTION_MS`, 30 days by default: as long as Stripe lists its events),
 * then deleted, so the outbox holds about a month of deliveries instead of every one ever sent.
 * Pending deliveries are never deleted, however old. The events themselves stay in the log, and a
 * rebuild of the outbox does not write the deleted deliveries again (`webhookOutbox.ts`, its
 * high-water mark).
 */
import { Duration, Effect, Schedule } from "effect"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { ensureWebhookTables } from "./webhookTables.js"

/** How long a finished delivery is kept by default: 30 days, in ms. */
export const defaultWebhookRetentionMillis = 30 * 86_400_000

/** Deliveries deleted per transaction, so the pruning never holds the write lock long. */
const pruneChunk = 500

/**
 * Deletes up to `limit` deliveries that ended before `endedBefore` (ms since the epoch), with
 * their attempts, in one transaction, oldest first; returns how many it deleted.
 */
export const pruneFinishedDeliveries = (db: SqliteDatabase, endedBefore: number, limit: number = pruneChunk): number => {
  ensureWebhookTables(db)
  // A delivery ends after it was created, so `created_at` bounds the scan along its index.
  const ended = db.prepare<[number, number, number], { id: string }>(
    `SELECT id FROM webhook_deliveries
     WHERE created_at < ? AND status != 'pending' AND coalesce(delivered_at, last_attempt_at, created_at) < ?
     ORDER BY created_at LIMIT ?`
  )
  const deleteAttempts = db.prepare("DELETE FROM webhook_attempts WHERE delivery_id = ?")
  const deleteDelivery = db.prepare("DELETE FROM webhook_deliveries WHERE id = ? AND status != 'pending'")
  return db.transaction(() => {
    let deleted = 0
    for (const { id } of ended.all(endedBefore, endedBefore, limit)) {
      deleteAttempts.run(id)
      deleted += deleteDelivery.run(id).changes
    }
    return deleted
  }).immediate()
}

/**
 * Runs `pruneFinishedDeliveries` for everything older than `retentionMillis` (at least 1 ms) now
 * and then every `min(retention, 1 hour)` by Effect's `Clock`, a chunk at a time with a yield in
 * between; a failed pass is logged and the next one tries again. Never ends: fork it in a scope.
 */
export const pruneFinishedDeliveriesPeriodically = (db: SqliteDatabase, retentionMillis: number): Effect.Effect<never> => {
  const retention = Math.max(1, Math.floor(retentionMillis))
  const pass: Effect.Effect<void> = Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => {
    const chunks = (): Effect.Effect<void> =>
      Effect.suspend(() =>
        pruneFinishedDeliveries(db, now - retention) < pruneChunk ? Effect.void : Effect.zipRight(Effect.yieldNow(), chunks()))
    return chunks()
  })
  return pass.pipe(
    Effect.catchAllDefect((defect) => Effect.logWarning("webhooks: deleting deliveries past their retention failed", defect)),
    Effect.repeat(Schedule.spaced(Duration.millis(Math.min(retention, 3_600_000)))),
    Effect.zipRight(Effect.never)
  )
}

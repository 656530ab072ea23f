/**
 * Finished webhook deliveries are deleted after their retention, pending ones never, and a rebuild
 * of the read models does not write the deleted ones again (the outbox's high-water mark). Real
 * SQLite files in temp folders, the real projections and store.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach } from "vitest"
import { ledgerProjections } from "../../src/api/callLedgerLayer.js"
import { makeLedgerConfig } from "../../src/api/ledgerConfig.js"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.js"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { makeSqliteEventStore } from "../../src/store/sqlite/sqliteEventStore.js"
import { ensureWebhookTables } from "../../src/webhooks/webhookTables.js"
import { pruneFinishedDeliveries, pruneFinishedDeliveriesPeriodically } from "../../src/webhooks/webhookRetention.js"
import { completedCallCommands, runCommands } from "./callRecording.js"

const day = 86_400_000
const t0 = Date.parse("2026-01-01T00:00:00.000Z")

const opened: Array<{ db: SqliteDatabase; dir: string }> = []
afterEach(() => {
  for (const { db, dir } of opened.splice(0)) {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
const freshFile = () => {
  const dir = mkdtempSync(join(tmpdir(), "call-ledger-retention-"))
  const path = join(dir, "ledger.db")
  const db = openSqliteDatabase(path)
  opened.push({ db, dir })
  ensureWebhookTables(db)
  db.prepare(`INSERT INTO webhook_endpoints (id, url, secret, event_types, created_at)
    VALUES ('ep_1', 'https://a.example.com/hooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '["call.completed"]', 0)`).run()
  return { db, path }
}

/** A delivery row in `status`, created at `createdAt`, ended at `endedAt` (null: not yet), with `attempts` attempts. */
const addDelivery = (db: SqliteDatabase, id: string, status: string, createdAt: number, endedAt: number | null, attempts: number, endpointId = "ep_1") => {
  db.prepare(`INSERT INTO webhook_deliveries
    (id, endpoint_id, event_id, event_type, call_id, body, status, attempt_count, next_attempt_at, created_at, last_attempt_at, delivered_at)
    VALUES (?, ?, ?, 'call.completed', 'cal_1', '{}', ?, ?, ?, ?, ?, ?)`)
    .run(id, endpointId, `evt_${id}`, status, attempts, status === "pending" ? createdAt : null, createdAt, endedAt, status === "delivered" ? endedAt : null)
  for (let attempt = 1; attempt <= attempts; attempt++) {
    db.prepare("INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code) VALUES (?, ?, ?, 12, 500)")
      .run(id, attempt, createdAt + attempt)
  }
}
const deliveryIds = (db: SqliteDatabase) =>
  (db.prepare("SELECT id FROM webhook_deliveries ORDER BY id").all() as Array<{ id: string }>).map((r) => r.id)
const attemptsOf = (db: SqliteDatabase) =>
  (db.prepare("SELECT DISTINCT delivery_id FROM webhook_attempts ORDER BY delivery_id").all() as Array<{ delivery_id: string }>).map((r) => r.delivery_id)

describe("webhook delivery retention", () => {
  it("deletes deliveries that ended before the cutoff with their attempts, earliest first, in chunks; pending ones, however old, stay", () => {
    const { db } = freshFile()
    // An endpoint disabled on day 35: its deliveries canceled then ended then, not when created.
    db.prepare(`INSERT INTO webhook_endpoints (id, url, secret, event_types, created_at, enabled, disabled_at, disabled_reason)
      VALUES ('ep_2', 'https://b.example.com/hooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '["call.completed"]', 0, 0, ?, 'api')`).run(t0 + 35 * day)
    addDelivery(db, "msg_delivered_old", "delivered", t0, t0 + 1_000, 1)
    addDelivery(db, "msg_failed_old", "failed", t0 + 1, t0 + 2 * day, 8)
    addDelivery(db, "msg_canceled_old", "canceled", t0 + 2, null, 0)
    addDelivery(db, "msg_canceled_late", "canceled", t0 + 3, t0 + 4, 1, "ep_2")
    addDelivery(db, "msg_pending_old", "pending", t0, null, 3)
    addDelivery(db, "msg_failed_late", "failed", t0, t0 + 40 * day, 8)
    addDelivery(db, "msg_delivered_new", "delivered", t0 + 35 * day, t0 + 35 * day, 1)

    const cutoff = t0 + 30 * day
    expect(pruneFinishedDeliveries(db, cutoff, 2)).toBe(2)
    expect(deliveryIds(db)).toContain("msg_canceled_old")
    expect(deliveryIds(db)).not.toContain("msg_failed_old")
    expect(pruneFinishedDeliveries(db, cutoff, 2)).toBe(1)
    expect(pruneFinishedDeliveries(db, cutoff, 2)).toBe(0)
    const kept = ["msg_canceled_late", "msg_delivered_new", "msg_failed_late", "msg_pending_old"]
    expect(deliveryIds(db)).toEqual(kept)
    expect(attemptsOf(db)).toEqual(["msg_canceled_late", "msg_delivered_new", "msg_failed_late", "msg_pending_old"])
  })

  it.scoped("deletes them in the background once their retention is over, by the clock", () =>
    Effect.gen(function*() {
      const { db } = freshFile()
      yield* TestClock.setTime(t0)
      const pruning = yield* Effect.fork(pruneFinishedDeliveriesPeriodically(db, 2 * day))
      addDelivery(db, "msg_a", "delivered", t0, t0 + 1_000, 1)
      addDelivery(db, "msg_b", "delivered", t0 + day, t0 + day, 1)
      addDelivery(db, "msg_c", "pending", t0, null, 2)
      yield* TestClock.adjust(2 * day)
      expect(deliveryIds(db)).toEqual(["msg_a", "msg_b", "msg_c"])
      // The pass an hour later (they run hourly): msg_a ended two days before it, msg_b not yet.
      yield* TestClock.adjust(3_600_000)
      expect(deliveryIds(db)).toEqual(["msg_b", "msg_c"])
      yield* TestClock.adjust(day)
      expect(deliveryIds(db)).toEqual(["msg_c"])
      yield* Fiber.interrupt(pruning)
    }))

  it("a rebuild of every read model does not write a delivery deleted after its retention again", async () => {
    const { db, path } = freshFile()
    const store = makeSqliteEventStore(db)
    const runner = await Effect.runPromise(makeProjectionRunner(db, store, ledgerProjections(makeLedgerConfig({ databasePath: path }))))
    await runCommands(store, completedCallCommands("cal_before"))
    await Effect.runPromise(runner.catchUp)
    expect(deliveryIds(db)).toHaveLength(1)
    db.prepare("UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?").run(Date.now())
    expect(pruneFinishedDeliveries(db, Date.now() + day)).toBe(1)

    await Effect.runPromise(runner.rebuild())
    expect(deliveryIds(db)).toEqual([])
    await runCommands(store, completedCallCommands("cal_after"))
    await Effect.runPromise(runner.catchUp)
    const deliveredCalls = db.prepare("SELECT call_id FROM webhook_deliveries").all() as Array<{ call_id: string }>
    expect(deliveredCalls).toEqual([{ call_id: "cal_after" }])
  })
})

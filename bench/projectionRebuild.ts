/**
 * Projection rebuild, events/s: replay a log of 1M simulated events (scaled) into every read model
 * of an instance (call view, transcript, stats, do-not-call, webhook outbox) with the runner's
 * `rebuild`, against a raw read of the same rows (the limit: better-sqlite3 iterating `events`).
 */
import { Effect } from "effect"
import { join } from "node:path"
import { ledgerProjections } from "../src/api/callLedgerLayer.js"
import { makeLedgerConfig } from "../src/api/ledgerConfig.js"
import { makeProjectionRunner } from "../src/projections/projectionRunner.js"
import { openSqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import { makeSqliteEventStore } from "../src/store/sqlite/sqliteEventStore.js"
import { ensureEventTables } from "../src/store/sqlite/sqliteEventTables.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, scaled, since, throughputRow } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"
import { interleaved, logRowsOf } from "./ledgerRows.js"
import type { LogRow } from "./ledgerRows.js"

/**
 * Writes simulated calls' events into `db`'s log as the command path would have stored them,
 * 200 calls interleaved, until at least `events` events. Returns the number written.
 */
export const buildLog = (db: SqliteDatabase, events: number, startMillis?: number): number => {
  ensureEventTables(db)
  const insert = db.prepare("INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)")
  const write = db.transaction((rows: ReadonlyArray<LogRow>) => {
    for (const r of rows) {
      insert.run(r.eventId, r.streamId, r.revision, r.type, r.data, r.metadata)
    }
  })
  let written = 0
  function* calls() {
    for (const call of simulatedCalls(Number.MAX_SAFE_INTEGER, { startMillis })) {
      if (written >= events) return
      const rows = logRowsOf(call)
      written += rows.length
      yield rows
    }
  }
  let batch: Array<LogRow> = []
  for (const row of interleaved(calls(), 200)) {
    batch.push(row)
    if (batch.length >= 10_000) {
      write(batch)
      batch = []
    }
  }
  write(batch)
  return (db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n
}

export const projectionRebuild: BenchFigure = {
  name: "projection rebuild",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "rebuild")
    const path = join(dir, "ledger.db")
    const db = openSqliteDatabase(path)
    const target = scaled(context, 1_000_000, 1_000)
    context.log(`rebuild: writing a log of ${target} events`)
    const events = buildLog(db, target)

    db.pragma("wal_checkpoint(TRUNCATE)")
    const read = db.prepare("SELECT position, event_id, stream_id, revision, type, data, metadata FROM events ORDER BY position")
    let start = performance.now()
    let count = 0
    for (const _ of read.iterate()) count++
    const rawMillis = since(start)

    context.log(`rebuild: replaying ${events} events into every read model`)
    const store = makeSqliteEventStore(db)
    const runner = await Effect.runPromise(makeProjectionRunner(db, store, ledgerProjections(makeLedgerConfig({ databasePath: path }))))
    start = performance.now()
    const result = await Effect.runPromise(runner.rebuild())
    const rebuildMillis = since(start)
    db.close()
    const ours = result.events / (rebuildMillis / 1000)
    return [throughputRow({
      figure: "projection rebuild (all read models)", unit: "events/s", ours,
      beside: "raw read of the same rows", besideValue: count / (rawMillis / 1000),
      target: ">= 100k events/s", note: `${result.events} events`
    }, (value) => value >= 100_000)]
  }
}

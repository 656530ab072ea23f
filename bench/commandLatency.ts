/**
 * Single command latency, p50/p99, one command at a time: the command path alone
 * (`handleCallCommand` on the SQLite store) and the library's `CallLedger.execute`, which also waits
 * until the projections applied the write (read-your-writes, what every HTTP write does), against
 * a raw single-row better-sqlite3 insert (autocommit) of the same rows.
 */
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { CallLedger } from "../src/api/callLedger.js"
import { callLedgerLayer } from "../src/api/callLedgerLayer.js"
import { makeLedgerConfig } from "../src/api/ledgerConfig.js"
import { handleCallCommand } from "../src/store/callCommandHandler.js"
import { ledgerDatabaseLayer, openSqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import { SqliteEventStoreLive } from "../src/store/sqlite/sqliteEventStore.js"
import { ensureEventTables } from "../src/store/sqlite/sqliteEventTables.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, latencyRow, percentile, scaled } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"
import { logRowsOf } from "./ledgerRows.js"
import type { LogRow } from "./ledgerRows.js"

const commandsOf = (calls: number) => [...simulatedCalls(calls, { startMillis: Date.parse("2025-03-01T00:00:00Z") })].flatMap((c) => c.commands.map((x) => x.command))

const rawLatencies = (dbPath: string, rows: ReadonlyArray<LogRow>): Array<number> => {
  const db = openSqliteDatabase(dbPath)
  ensureEventTables(db)
  const insert = db.prepare("INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)")
  const out: Array<number> = []
  for (const r of rows) {
    const start = performance.now()
    insert.run(r.eventId, r.streamId, r.revision, r.type, r.data, r.metadata)
    out.push(performance.now() - start)
  }
  db.close()
  return out
}

export const commandLatency: BenchFigure = {
  name: "single command latency",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "latency")
    const callCount = scaled(context, 1_500, 20)
    const commands = commandsOf(callCount)
    const rows = [...simulatedCalls(callCount, { startMillis: Date.parse("2025-03-01T00:00:00Z") })].flatMap(logRowsOf)
    context.log(`latency: ${commands.length} commands, one at a time`)

    // The file opened as the ledger opens it (WAL, background checkpoints), the SQLite store over it.
    const pathLatencies = await Effect.runPromise(Effect.gen(function*() {
      const out: Array<number> = []
      for (const command of commands) {
        const start = performance.now()
        yield* Effect.either(handleCallCommand(command))
        out.push(performance.now() - start)
      }
      return out
    }).pipe(Effect.provide(SqliteEventStoreLive.pipe(Layer.provide(ledgerDatabaseLayer(join(dir, "path.db"))))), Effect.scoped))

    const config = makeLedgerConfig({ databasePath: join(dir, "ledger.db") })
    const executeLatencies = await Effect.runPromise(Effect.gen(function*() {
      const ledger = yield* CallLedger
      const out: Array<number> = []
      for (const command of commands) {
        const start = performance.now()
        yield* Effect.either(ledger.execute(command))
        out.push(performance.now() - start)
      }
      return out
    }).pipe(Effect.provide(Layer.orDie(callLedgerLayer(config))), Effect.scoped))

    const raw = rawLatencies(join(dir, "raw.db"), rows)
    const note = `${commands.length} commands of ${callCount} calls; raw: ${rows.length} rows`
    const row = (figure: string, values: ReadonlyArray<number>, p: number) => latencyRow({
      figure: `${figure} p${p}`, unit: "ms", ours: percentile(values, p),
      beside: `raw single-row insert p${p}`, besideValue: percentile(raw, p),
      target: p === 99 ? "p99 < 2 ms" : "-", note
    }, (ours) => p !== 99 || ours < 2)
    return [
      row("command latency (decide + append)", pathLatencies, 50),
      row("command latency (decide + append)", pathLatencies, 99),
      row("command latency (CallLedger.execute, read-your-writes)", executeLatencies, 50),
      row("command latency (CallLedger.execute, read-your-writes)", executeLatencies, 99)
    ]
  }
}

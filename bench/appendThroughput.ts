/**
 * Append throughput, events/s, many concurrent calls (~8 events each): the ledger's command path
 * (`handleCallCommand`: read, decide, append through group commit) against raw better-sqlite3
 * inserts of the very rows it stored, in transactions of 100 (the limit), and against
 * `@event-driven-io/emmett-sqlite` appending the same events to its own file (the peer).
 */
import { getSQLiteEventStore } from "@event-driven-io/emmett-sqlite"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { handleCallCommand } from "../src/store/callCommandHandler.js"
import { ledgerDatabaseLayer, openSqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import { SqliteEventStoreLive } from "../src/store/sqlite/sqliteEventStore.js"
import { ensureEventTables } from "../src/store/sqlite/sqliteEventTables.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, scaled, since, throughputRow } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"
import type { SimulatedCall } from "./dataset.js"
import type { LogRow } from "./ledgerRows.js"

/** Calls in flight at once (each sends its commands one after another, as a real call does). */
const concurrentCalls = 256

/**
 * Runs the ledger's command path over `calls` on the file as the ledger opens it (its database
 * layer: WAL, background checkpoints; the SQLite store over it); events appended and elapsed ms.
 */
export const runLedgerAppends = async (dbPath: string, calls: ReadonlyArray<SimulatedCall>) => {
  let events = 0
  const elapsed = await Effect.runPromise(Effect.gen(function*() {
    const start = performance.now()
    yield* Effect.forEach(calls, (call) =>
      Effect.forEach(call.commands, ({ command }) =>
        handleCallCommand(command).pipe(
          Effect.tap((result) => Effect.sync(() => { events += result.events.length })),
          Effect.catchAll(() => Effect.void)
        ), { discard: true }), { concurrency: concurrentCalls, discard: true })
    return since(start)
  }).pipe(Effect.provide(SqliteEventStoreLive.pipe(Layer.provide(ledgerDatabaseLayer(dbPath)))), Effect.scoped))
  const db = openSqliteDatabase(dbPath)
  const rows = db.prepare("SELECT event_id, stream_id, revision, type, data, metadata FROM events ORDER BY position").all() as Array<
    { event_id: string; stream_id: string; revision: number; type: string; data: string; metadata: string }
  >
  db.close()
  return {
    events,
    elapsed,
    rows: rows.map((r): LogRow => ({ eventId: r.event_id, streamId: r.stream_id, revision: r.revision, type: r.type, data: r.data, metadata: r.metadata }))
  }
}

/** Raw inserts of `rows` into the same schema, transactions of 100: the limit. Elapsed ms. */
export const runRawInserts = (dbPath: string, rows: ReadonlyArray<LogRow>): number => {
  const db = openSqliteDatabase(dbPath)
  ensureEventTables(db)
  db.pragma("cache_size = -65536")
  const insert = db.prepare("INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)")
  const insertMany = db.transaction((batch: ReadonlyArray<LogRow>) => {
    for (const r of batch) insert.run(r.eventId, r.streamId, r.revision, r.type, r.data, r.metadata)
  })
  const start = performance.now()
  for (let i = 0; i < rows.length; i += 100) insertMany.immediate(rows.slice(i, i + 100))
  const elapsed = since(start)
  db.close()
  return elapsed
}

/**
 * Emmett's SQLite event store appending the same events per stream, each append stating the
 * stream version it expects. One append at a time: its store opens and closes a connection per
 * operation and shares it, so concurrent appends on one store fail (SQLITE_BUSY, closed handle).
 * Stops after `budgetMillis`; events and elapsed ms.
 */
export const runEmmettAppends = async (dbPath: string, rows: ReadonlyArray<LogRow>, budgetMillis: number) => {
  const store = getSQLiteEventStore({ fileName: dbPath })
  // One append per command, as the ledger makes them: consecutive rows of a stream with one command id.
  const byStream = new Map<string, Array<Array<LogRow>>>()
  for (const row of rows) {
    const appends = byStream.get(row.streamId) ?? []
    const last = appends[appends.length - 1]
    const commandId = (r: LogRow) => (JSON.parse(r.metadata) as { commandId: string }).commandId
    if (last !== undefined && commandId(last[0]!) === commandId(row)) last.push(row)
    else appends.push([row])
    byStream.set(row.streamId, appends)
  }
  const streams = [...byStream]
  let events = 0
  let failures = 0
  let next = 0
  // Its driver can reject outside the awaited promise (SQLITE_BUSY on commit): count it, go on.
  const stray = () => {
    failures++
  }
  process.on("unhandledRejection", stray)
  const start = performance.now()
  try {
    while (next < streams.length && since(start) < budgetMillis) {
      const [streamId, appends] = streams[next++]!
      let version = 0n
      try {
        for (const batch of appends) {
          const result = await store.appendToStream(
            streamId,
            batch.map((r) => ({ type: r.type, data: JSON.parse(r.data) as Record<string, unknown>, metadata: JSON.parse(r.metadata) as Record<string, unknown> })),
            { expectedStreamVersion: version }
          )
          version = result.nextExpectedStreamVersion
          events += batch.length
        }
      } catch {
        // The rest of this stream would only conflict; the failure is reported with the figure.
        failures++
      }
    }
  } finally {
    process.off("unhandledRejection", stray)
  }
  return { events, failures, elapsed: since(start) }
}

export const appendThroughput: BenchFigure = {
  name: "append throughput",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "append")
    const calls = [...simulatedCalls(scaled(context, 25_000, 50))]
    context.log(`append: ${calls.length} calls through the command path`)
    const ours = await runLedgerAppends(join(dir, "ledger.db"), calls)
    const oursRate = ours.events / (ours.elapsed / 1000)
    context.log(`append: ${ours.rows.length} rows raw`)
    const raw = runRawInserts(join(dir, "raw.db"), ours.rows)
    const rawRate = ours.rows.length / (raw / 1000)
    context.log("append: emmett-sqlite")
    const emmett = await runEmmettAppends(join(dir, "emmett.db"), ours.rows, Math.max(2_000, 20_000 * Math.min(1, context.scale)))
    const emmettRate = emmett.events / (emmett.elapsed / 1000)
    const note = `${calls.length} calls, ${ours.events} events, ${concurrentCalls} calls at once; emmett ${emmett.events} events one append at a time${emmett.failures > 0 ? `, ${emmett.failures} failed appends` : ""}`
    return [
      throughputRow({
        figure: "append throughput (command path)", unit: "events/s", ours: oursRate,
        beside: "raw better-sqlite3, tx of 100", besideValue: rawRate, target: ">= 0.7 of raw", note
      }, (_, ratio) => ratio !== null && ratio >= 0.7),
      throughputRow({
        figure: "append throughput (command path)", unit: "events/s", ours: oursRate,
        beside: "@event-driven-io/emmett-sqlite 0.38.5", besideValue: emmettRate, target: ">= 3x emmett", note
      }, (_, ratio) => ratio !== null && ratio >= 3)
    ]
  }
}

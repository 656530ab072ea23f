/**
 * Single command latency, p50/p99, one command at a time: the command path alone
 * (`handleCallCommand` on the SQLite store) and the library's `CallLedger.execute`, which also waits
 * until the projections applied the write (read-your-writes, what every HTTP write does), against
 * a raw single-row better-sqlite3 insert (autocommit) of the same rows. And a long call (10,000
 * partial transcripts at full scale): the mean `CallLedger.execute` of its last tenth of commands
 * beside that of its second tenth, so a cost that grows with the call's length (a copy of its
 * history per command) shows as a ratio.
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
import type { CallCommand } from "../src/domain/callCommands.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, latencyRow, percentile, scaled } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"
import { logRowsOf } from "./ledgerRows.js"
import type { LogRow } from "./ledgerRows.js"

const commandsOf = (calls: number) => [...simulatedCalls(calls, { startMillis: Date.parse("2025-03-01T00:00:00Z") })].flatMap((c) => c.commands.map((x) => x.command))

/**
 * One call dialed and answered, then `count` partial transcripts 10 ms apart, reported one after
 * another (a streaming speech-to-text pipeline reports each utterance), from the dataset's first
 * call with a transcript.
 */
const longCallCommands = (count: number): Array<CallCommand> => {
  const commands = [...simulatedCalls(50, { startMillis: Date.parse("2025-04-01T00:00:00Z") })]
    .map((call) => call.commands.map((c) => c.command))
    .find((call) => call.some((c) => c.type === "RecordTranscript"))!
  const dial = commands.find((c) => c.type === "DialCall")!
  const transcript = commands.find((c) => c.type === "RecordTranscript")!
  const start = Date.parse(dial.at)
  const atMillis = (i: number) => new Date(start + 1_000 + i * 10).toISOString()
  return [
    dial,
    { type: "AnswerCall", commandId: `${dial.commandId}-answer`, callId: dial.callId, at: atMillis(0), answeredBy: "human" },
    ...Array.from({ length: count }, (_, i): CallCommand => ({ ...transcript, commandId: `${dial.commandId}-partial-${i}`, at: atMillis(i + 1), final: false }))
  ]
}

/** Mean of `values` from index `from` (inclusive) to `to` (exclusive). */
const meanOf = (values: ReadonlyArray<number>, from: number, to: number): number =>
  values.slice(from, to).reduce((sum, v) => sum + v, 0) / (to - from)

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

    const longCall = longCallCommands(scaled(context, 10_000, 40))
    context.log(`latency: one call of ${longCall.length} commands`)
    const longCallLatencies = await Effect.runPromise(Effect.gen(function*() {
      const ledger = yield* CallLedger
      const out: Array<number> = []
      for (const command of longCall) {
        const start = performance.now()
        const result = yield* Effect.either(ledger.execute(command))
        if (result._tag === "Left") throw new Error(`long call: ${command.type} refused: ${result.left._tag}`)
        if (result.right.events.length === 0) throw new Error(`long call: ${command.type} ${command.commandId} appended nothing`)
        out.push(performance.now() - start)
      }
      return out
    }).pipe(Effect.provide(Layer.orDie(callLedgerLayer(makeLedgerConfig({ databasePath: join(dir, "long.db") })))), Effect.scoped))
    const tenth = Math.floor(longCallLatencies.length / 10)

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
      row("command latency (CallLedger.execute, read-your-writes)", executeLatencies, 99),
      latencyRow({
        figure: "command latency on a long call (its last tenth, mean)", unit: "ms",
        ours: meanOf(longCallLatencies, longCallLatencies.length - tenth, longCallLatencies.length),
        beside: "the same call's second tenth, mean", besideValue: meanOf(longCallLatencies, tenth, 2 * tenth),
        target: ">= 0.67 (own row)",
        note: `${longCallLatencies.length} CallLedger.execute on one call (partial transcripts), one at a time`
      }, (_, ratio) => ratio !== null && ratio >= 0.67)
    ]
  }
}

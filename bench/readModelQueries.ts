/**
 * List and stats latency at 1M calls, and the server's peak RSS while serving them.
 *
 * The read model: a day of simulated calls (fixed seed) goes through every projection `serve` runs
 * (call view, transcript, stats, do-not-call, webhooks), then the day is copied forward day by day in SQL (ids and
 * instants shifted, the daily and hourly rollups copied to the shifted day, the monthly one summed
 * from the days) up to the dataset size: projecting
 * 8M events one by one would not fit the run's time. `call-ledger serve` then runs on the file in a
 * child process and every filter of `GET /v1/calls` (first page, and a deep page by cursor) and
 * `GET /v1/calls/stats` (by campaign and date range) is timed over HTTP, one request at a time;
 * then the same requests to a reference server (`staticBodyServer.ts`) that answers each URL with
 * the body the ledger gave for it and does nothing else: the same framework and bytes without the
 * query, the floor this machine puts under the ledger's p99.
 */
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { ledgerProjections } from "../src/api/callLedgerLayer.js"
import { makeLedgerConfig } from "../src/api/ledgerConfig.js"
import { recountCalls } from "../src/projections/callCounts.js"
import { encodeCallCursor } from "../src/projections/callView.js"
import { makeProjectionRunner } from "../src/projections/projectionRunner.js"
import { openSqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import { makeSqliteEventStore } from "../src/store/sqlite/sqliteEventStore.js"
import { ensureEventTables } from "../src/store/sqlite/sqliteEventTables.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { collectLoadGeneratorGarbage, freshDir, latencyRow, percentile, scaled } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"
import { interleaved, logRowsOf } from "./ledgerRows.js"
import { buildEntry, freePort, request, startServerProcess, unlimitedRateLimits } from "./serverProcess.js"
import type { ServerProcess } from "./serverProcess.js"

const dayMillis = 86_400_000
const firstDay = Date.parse("2025-01-01T00:00:00Z")

/** Projects `perDay` simulated calls of one day through the real projections. */
const projectTemplateDay = async (db: SqliteDatabase, perDay: number) => {
  ensureEventTables(db)
  const insert = db.prepare("INSERT INTO events (event_id, stream_id, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)")
  const calls = simulatedCalls(perDay, { startMillis: firstDay, spacingMillis: Math.floor(dayMillis / perDay) })
  db.transaction(() => {
    for (const r of interleaved((function*() { for (const c of calls) yield logRowsOf(c) })(), 200)) {
      insert.run(r.eventId, r.streamId, r.revision, r.type, r.data, r.metadata)
    }
  })()
  // Every projection `serve` runs (the webhook ones too), so the server opens a file that is up to
  // date, as a running ledger's is, instead of catching them up from the first event.
  const projections = ledgerProjections(makeLedgerConfig({ databasePath: db.name }))
  const runner = await Effect.runPromise(makeProjectionRunner(db, makeSqliteEventStore(db), projections, { pageSize: 20_000 }))
  await Effect.runPromise(runner.catchUp)
}

/** Copies the template day's calls and rollups to days 1..days-1 (ids and instants shifted). */
const copyDays = (db: SqliteDatabase, days: number, log: (m: string) => void) => {
  const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name)
  const shift = (column: string) => `CASE WHEN ${column} IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', ${column}, @days) END`
  const newId = (column: string) => `'cal_' || printf('%04x', @k) || substr(${column}, 9)`
  const callExpr: Record<string, string> = {
    id: newId("id"), started_at: shift("started_at"), ended_at: shift("ended_at"), updated_at: shift("updated_at"),
    doc: `json_set(doc, '$.id', ${newId("id")}, '$.started_at', ${shift("started_at")}, '$.ended_at', ${shift("ended_at")}, '$.updated_at', ${shift("updated_at")})`
  }
  const callColumns = columns("calls")
  const statsColumns = columns("call_stats_calls")
  const statsExpr: Record<string, string> = { call_id: newId("call_id"), started_at: shift("started_at") }
  db.exec(`CREATE TEMP TABLE template_calls AS SELECT * FROM calls; CREATE TEMP TABLE template_stats AS SELECT * FROM call_stats_calls;
    CREATE TEMP TABLE template_daily AS SELECT * FROM call_stats_daily; CREATE TEMP TABLE template_hourly AS SELECT * FROM call_stats_hourly`)
  const copyCalls = db.prepare(`INSERT INTO calls (${callColumns.join(", ")}) SELECT ${callColumns.map((c) => callExpr[c] ?? c).join(", ")} FROM template_calls`)
  const copyStats = db.prepare(`INSERT INTO call_stats_calls (${statsColumns.join(", ")}) SELECT ${statsColumns.map((c) => statsExpr[c] ?? c).join(", ")} FROM template_stats`)
  const dailyColumns = columns("call_stats_daily")
  const copyDaily = db.prepare(`INSERT INTO call_stats_daily (${dailyColumns.join(", ")}) SELECT ${dailyColumns.map((c) => (c === "day" ? "date(day, @days)" : c)).join(", ")} FROM template_daily`)
  const hourlyColumns = columns("call_stats_hourly")
  const copyHourly = db.prepare(
    `INSERT INTO call_stats_hourly (${hourlyColumns.join(", ")})
     SELECT ${hourlyColumns.map((c) => (c === "hour" ? "strftime('%Y-%m-%dT%H', hour || ':00:00Z', @days)" : c)).join(", ")} FROM template_hourly`
  )
  for (let k = 1; k < days; k++) {
    db.transaction(() => {
      const params = { k, days: `+${k} days` }
      copyCalls.run(params)
      copyStats.run(params)
      copyDaily.run({ days: params.days })
      copyHourly.run({ days: params.days })
    })()
    if (k % 20 === 0) log(`read model: day ${k + 1} of ${days}`)
  }
  db.exec(`DELETE FROM call_stats_monthly;
    INSERT INTO call_stats_monthly (scope, month, metric, key, amount)
    SELECT scope, substr(day, 1, 7), metric, key, sum(amount) FROM call_stats_daily GROUP BY scope, substr(day, 1, 7), metric, key`)
  // The copies bypass the call view, so its counts are taken again from the rows.
  recountCalls(db)
  db.exec("DROP TABLE template_calls; DROP TABLE template_stats; DROP TABLE template_daily; DROP TABLE template_hourly; ANALYZE")
}

/**
 * Requests of every path, round after round, before any is timed: the steady state is measured,
 * not the server's first seconds (JIT compilation, first prepares), as in the end-to-end figure.
 * 20 rounds (700 requests) were not enough: the first four rows timed after them had p50 1.0-1.3
 * ms, and the same four timed again at the end of the run 0.5-0.7 ms, also after a 5 s pause
 * between the warm-up and the rows (so it was the request count, not time). After 60 rounds the
 * first rows are as fast as the last. Scaled down with the dataset (the smoke run does 2).
 */
const warmUpRounds = (context: BenchContext): number => scaled(context, 60, 2)

const warmUp = async (base: string, paths: ReadonlyArray<string>, rounds: number): Promise<void> => {
  for (let round = 0; round < rounds; round++) {
    for (const path of paths) {
      const response = await request(base, "GET", path)
      if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.body.slice(0, 200)}`)
    }
  }
}

/** Times `GET path` one request at a time: `times` requests, or fewer once `budgetMillis` is spent (at least 10). */
const timeRequests = async (base: string, path: string, times: number, budgetMillis: number): Promise<Array<number>> => {
  const out: Array<number> = []
  collectLoadGeneratorGarbage()
  const started = performance.now()
  for (let i = 0; i < times && (i < 10 || performance.now() - started < budgetMillis); i++) {
    const start = performance.now()
    await request(base, "GET", path)
    out.push(performance.now() - start)
  }
  return out
}

export const readModelQueries: BenchFigure = {
  name: "queries at 1M calls",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "queries")
    const path = join(dir, "ledger.db")
    const total = scaled(context, 1_000_000, 2_000)
    const days = Math.max(2, Math.min(100, Math.round(total / 10_000)))
    const perDay = Math.ceil(total / days)
    const db = openSqliteDatabase(path)
    context.log(`read model: projecting ${perDay} simulated calls of one day`)
    await projectTemplateDay(db, perDay)
    context.log(`read model: copying to ${days} days`)
    copyDays(db, days, context.log)
    const calls = (db.prepare("SELECT count(*) AS n FROM calls").get() as { n: number }).n
    const mid = db.prepare("SELECT started_at, id FROM calls ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?").get(Math.floor(calls / 2)) as { started_at: string; id: string }
    const phone = (db.prepare("SELECT to_number FROM calls LIMIT 1").get() as { to_number: string }).to_number
    db.pragma("wal_checkpoint(TRUNCATE)")
    db.close()

    const port = await freePort()
    const server = await startServerProcess(await buildEntry("src/cli/main.ts", "call-ledger"), ["serve", "--db", path, "--port", String(port)], port, "/health", {
      LEDGER_RATE_LIMITS: unlimitedRateLimits
    })
    const times = scaled(context, 200, 20)
    const rows: Array<BenchRow> = []
    let reference: ServerProcess | undefined
    try {
      const weekFrom = new Date(firstDay + 10 * dayMillis).toISOString().slice(0, 10)
      const weekTo = new Date(firstDay + 16 * dayMillis).toISOString().slice(0, 10)
      const filters: ReadonlyArray<readonly [string, string]> = [
        ["none", ""], ["campaign_id", "campaign_id=cmp_loanRenewal"], ["agent_id", "agent_id=agt_none"],
        ["contact_id", "contact_id=ct_none"], ["direction", "direction=outbound"], ["call_type", "call_type=telephony_outbound"],
        ["status", "status=completed"], ["outcome", "outcome=voicemail"], ["disposition", "disposition=escalated"],
        ["sentiment", "sentiment=negative"], ["language", "language=ta-IN"], ["from/to", `from=${weekFrom}&to=${weekTo}`],
        ["search", `search=${encodeURIComponent(phone.slice(-6))}`], ["min/max_duration", "min_duration=60&max_duration=90"],
        ["campaign+disposition", "campaign_id=cmp_4Rv8sT1wX&disposition=escalated"]
      ]
      const cursor = encodeCallCursor(mid.started_at, mid.id)
      const lists = filters.flatMap(([name, query]) =>
        ([["first page", "limit=20"], ["deep page", `limit=20&cursor=${cursor}`]] as const).map(([page, extra]) =>
          ({ figure: `list ${name}, ${page}`, path: `/v1/calls?${[query, extra].filter((s) => s !== "").join("&")}` })))
      const stats = ([
        ["all", ""], ["campaign", "campaign_id=cmp_loanRenewal"],
        ["campaign, whole days", `campaign_id=cmp_loanRenewal&from=${weekFrom}&to=${weekTo}`],
        ["campaign, instants", `campaign_id=cmp_loanRenewal&from=${weekFrom}T09:30:00Z&to=${weekTo}T17:45:00Z`],
        ["date range", `from=${weekFrom}T09:30:00Z&to=${weekTo}T17:45:00Z`]
      ] as const).map(([name, query]) => ({ figure: `stats ${name}`, path: `/v1/calls/stats${query === "" ? "" : `?${query}`}` }))
      const queries = [...lists, ...stats]
      context.log(`queries: warming up, then ${filters.length} filters x 2 pages and ${stats.length} stats x ${times} requests`)
      // The rollups were copied in SQL, not projected: they must still count every call.
      const counted = (JSON.parse((await request(server.url, "GET", "/v1/calls/stats")).body) as { total_calls: number }).total_calls
      if (counted !== calls) throw new Error(`stats count ${counted} calls of ${calls}: the copied rollups are wrong`)
      // The reference answers each URL with the ledger's own body for it (`staticBodyServer.ts`).
      const bodies: Record<string, string> = {}
      for (const { path } of queries) bodies[path] = (await request(server.url, "GET", path)).body
      const bodiesFile = join(dir, "bodies.json")
      writeFileSync(bodiesFile, JSON.stringify(bodies))
      const referencePort = await freePort()
      reference = await startServerProcess(await buildEntry("bench/staticBodyServer.ts", "static-body-server"), [
        String(referencePort), bodiesFile
      ], referencePort, "/health")
      // The reference is warmed up first and timed last, so the ledger's rows are timed as they were
      // before it came, the reference idle, and its background work (JIT, GC) lands on neither's rows.
      const paths = queries.map((q) => q.path)
      await warmUp(reference.url, paths, warmUpRounds(context))
      await warmUp(server.url, paths, warmUpRounds(context))
      const timeEach = async (base: string) => {
        const out: Array<ReadonlyArray<number>> = []
        for (const path of paths) out.push(await timeRequests(base, path, times, 4_000))
        return out
      }
      const ours = await timeEach(server.url)
      const rss = server.peakRss() / 1024 / 1024
      const floors = await timeEach(reference.url)
      queries.forEach(({ figure }, i) => {
        const latencies = ours[i]!
        const floor = floors[i]!
        rows.push(latencyRow({
          figure: `${figure} p99`, unit: "ms", ours: percentile(latencies, 99),
          beside: "same body, no-op HttpApi", besideValue: percentile(floor, 99), target: "p99 < 5 ms",
          note: `p50 ${percentile(latencies, 50).toFixed(2)} ms (no-op ${percentile(floor, 50).toFixed(2)}), ${latencies.length} requests each; ${calls} calls`
        }, (p99) => p99 < 5))
      })
      rows.push(latencyRow({
        figure: "peak RSS serving the calls", unit: "MB", ours: rss, beside: null, besideValue: null,
        target: "< 400 MB", note: `${calls} calls, after the queries above`
      }, (ours) => ours < 400))
    } finally {
      await server.stop()
      await reference?.stop()
    }
    return rows
  }
}

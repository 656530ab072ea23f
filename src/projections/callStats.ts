/**
 * Call statistics (seed 002 `GET /calls/stats`), answered from rollups so the cost does not grow
 * with the number of calls.
 *
 * Definitions (calls are counted by `started_at`, in UTC days):
 * - `total_calls`: every call started in the range, live ones included;
 * - `connected`, `voicemail`, `no_answer`, `failed`: calls by outcome (the outcome a disposition set
 *   wins over the one the end derived); a live call has no outcome yet, so these may sum to less;
 * - `connect_rate`: connected / total_calls, rounded to 2 decimals, 0 when there are no calls;
 * - `sentiment_breakdown`: calls by sentiment label; calls without one are not counted;
 * - `avg_duration_seconds`: mean `duration_seconds` of connected calls, rounded to a whole second, 0 when none;
 * - `by_status`, `by_disposition`, `by_language`: calls per value (no key for a null disposition or
 *   language; languages in canonical BCP-47 case, so `hi-in` and `hi-IN` count together);
 * - `daily`: the same headline numbers per UTC day that has calls, oldest first.
 *
 * Tables: `call_stats_calls` (per call, the fields counted: the old contribution of a call is read
 * from here, or from the rows this connection wrote last, never from `calls`, so this projection
 * rebuilds alone), `call_stats_daily` (scope x UTC day x metric x key -> amount, scope `all` or
 * `c:<campaign_id>`), `call_stats_hourly` and `call_stats_monthly` (the same per UTC hour and
 * month). An event changing a counted field moves the call's contribution by what changed in it.
 * A range's totals are read from whole months, its edge months from whole days, its edge days
 * from whole hours, and only the calls of a partial first or last hour from `call_stats_calls`,
 * so the answer is exact; the daily series from the days.
 */
import type Database from "better-sqlite3"
import type { CallEvent } from "../domain/callEvents.js"
import type { CallStatus, Outcome } from "../domain/values.js"
import { canonicalLanguageTag } from "../domain/values.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { BatchRows } from "./batchRows.js"
import { changedColumnsWriter } from "./changedColumns.js"
import { recentRowsOf } from "./recentRows.js"
import { advanceCallStatus } from "./callStatus.js"
import { asCallEvent, inSchema, rebuiltIndexes } from "./projection.js"
import type { Projection } from "./projection.js"
import {
  addUtcHours, addUtcMonths, endOfUtcDay, endOfUtcHour, firstDayOfUtcMonth, firstWholeUtcDay, lastDayOfUtcMonth,
  lastWholeUtcDay, startOfUtcDay, startOfUtcHour, toUtcInstant, utcDay, utcHour, utcMonth
} from "./utcInstant.js"

/** Name of the stats projection's checkpoint. */
export const callStatsName = "call_stats"

const schema = `
CREATE TABLE IF NOT EXISTS call_stats_calls (
  call_id TEXT PRIMARY KEY,
  campaign_id TEXT,
  started_at TEXT NOT NULL,
  status TEXT NOT NULL,
  outcome TEXT,
  outcome_override TEXT,
  disposition TEXT,
  sentiment TEXT,
  language TEXT,
  duration_seconds INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS call_stats_daily (
  scope TEXT NOT NULL,
  day TEXT NOT NULL,
  metric TEXT NOT NULL,
  key TEXT NOT NULL,
  amount INTEGER NOT NULL,
  PRIMARY KEY (scope, day, metric, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_stats_monthly (
  scope TEXT NOT NULL,
  month TEXT NOT NULL,
  metric TEXT NOT NULL,
  key TEXT NOT NULL,
  amount INTEGER NOT NULL,
  PRIMARY KEY (scope, month, metric, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_stats_hourly (
  scope TEXT NOT NULL,
  hour TEXT NOT NULL,
  metric TEXT NOT NULL,
  key TEXT NOT NULL,
  amount INTEGER NOT NULL,
  PRIMARY KEY (scope, hour, metric, key)
) WITHOUT ROWID;
`

/**
 * The rollups, by grain: whole UTC months answer most of a long range, whole days its edge months
 * and the daily series, whole hours its edge days, so only the calls of its first and last partial
 * hour are counted one by one (a range from 09:30 to 17:45 at 10 000 calls a day read 13 000 calls,
 * 15 ms; now a few hundred). Summing 100 days of one scope (2 200 rows) took 0.6 ms; 3 months 0.1 ms.
 */
const rollups = [
  { table: "call_stats_daily", column: "day", periodOf: utcDay },
  { table: "call_stats_hourly", column: "hour", periodOf: utcHour },
  { table: "call_stats_monthly", column: "month", periodOf: utcMonth }
] as const

/**
 * The indexes of `call_stats_calls`. A rebuild drops them and leaves the rollup empty, then builds
 * both from the calls at its end (`rollUpFromRows`): at 1M events, moving the rollup call by call
 * took 1.2 s. Dropped and created in the transaction that resets or finishes a rebuild, so their
 * absence on open says a rebuild was cut short.
 */
const deferredIndexes = rebuiltIndexes(`
CREATE INDEX IF NOT EXISTS call_stats_calls_by_started ON call_stats_calls (started_at);
CREATE INDEX IF NOT EXISTS call_stats_calls_by_campaign ON call_stats_calls (campaign_id, started_at);
`)


/** The counted fields of one call. */
interface StatsRow {
  readonly call_id: string
  readonly campaign_id: string | null
  readonly started_at: string
  readonly status: CallStatus
  readonly outcome: Outcome | null
  readonly outcome_override: Outcome | null
  readonly disposition: string | null
  readonly sentiment: string | null
  readonly language: string | null
  readonly duration_seconds: number
}

const sep = "\t"
type Contribution = Map<string, number>

/** The counted fields of `calls` calls alike in them, whose durations add up to `durationSum`. */
type CountedFields = Pick<StatsRow, "status" | "outcome" | "disposition" | "sentiment" | "language">

/** What `calls` such calls add to their day's rollup: `metric<TAB>key` -> amount. */
const contributionOf = (row: CountedFields, calls: number, durationSum: number): Contribution => {
  const c: Contribution = new Map()
  c.set(`total${sep}`, calls)
  c.set(`status${sep}${row.status}`, calls)
  if (row.outcome !== null) c.set(`outcome${sep}${row.outcome}`, calls)
  if (row.outcome === "connected") c.set(`connected_seconds${sep}`, durationSum)
  if (row.sentiment !== null) c.set(`sentiment${sep}${row.sentiment}`, calls)
  if (row.disposition !== null) c.set(`disposition${sep}${row.disposition}`, calls)
  // Canonical case (`hi-in` -> `hi-IN`), so tags differing in case count together.
  if (row.language !== null) c.set(`language${sep}${canonicalLanguageTag(row.language) ?? row.language}`, calls)
  return c
}

const scopesOf = (row: Pick<StatsRow, "campaign_id">): ReadonlyArray<string> =>
  row.campaign_id === null ? ["all"] : ["all", `c:${row.campaign_id}`]

/**
 * Adds (`sign` 1) or takes away (-1) what `calls` calls with these counted fields contribute to
 * each rollup (`amounts` in the order of `rollups`, keyed by scope, period, metric and key).
 * `startedAt` is an instant or an hour (`YYYY-MM-DDTHH`): either gives the month, the day and the hour.
 */
const addToRollups = (
  amounts: ReadonlyArray<Map<string, number>>,
  row: CountedFields & Pick<StatsRow, "campaign_id">,
  startedAt: string,
  calls: number,
  durationSum: number,
  sign: 1 | -1 = 1
): void => addContribution(amounts, row, startedAt, contributionOf(row, calls, durationSum), sign)

const addContribution = (
  amounts: ReadonlyArray<Map<string, number>>,
  row: Pick<StatsRow, "campaign_id">,
  startedAt: string,
  contribution: Contribution,
  sign: 1 | -1
): void => {
  rollups.forEach(({ periodOf }, i) => {
    const period = periodOf(startedAt)
    for (const scope of scopesOf(row)) {
      for (const [metricKey, amount] of contribution) addInto(amounts[i]!, `${scope}${sep}${period}${sep}${metricKey}`, sign * amount)
    }
  })
}

/**
 * Moves one stored call's contribution from `stored` to `row`. A call keeps its campaign and start,
 * so only the metrics that changed (a status, an outcome set) are added, usually two of seven.
 * Taking the whole old contribution away and adding the new one built up to ~80 rollup keys per
 * command, most of them adding up to zero: ~14 % of what a command allocated (bench/README.md,
 * seventh session of 2026-12-05).
 */
const moveInRollups = (amounts: ReadonlyArray<Map<string, number>>, stored: StatsRow, row: StatsRow): void => {
  if (stored.campaign_id !== row.campaign_id || stored.started_at !== row.started_at) {
    addToRollups(amounts, stored, stored.started_at, 1, stored.duration_seconds, -1)
    addToRollups(amounts, row, row.started_at, 1, row.duration_seconds)
    return
  }
  const before = contributionOf(stored, 1, stored.duration_seconds)
  const change: Contribution = new Map()
  for (const [metricKey, amount] of contributionOf(row, 1, row.duration_seconds)) {
    const moved = amount - (before.get(metricKey) ?? 0)
    before.delete(metricKey)
    if (moved !== 0) change.set(metricKey, moved)
  }
  for (const [metricKey, amount] of before) if (amount !== 0) change.set(metricKey, -amount)
  if (change.size > 0) addContribution(amounts, row, row.started_at, change, 1)
}

/** The counted fields after `event`; the same rules as the call view. */
const evolveStatsRow = (row: StatsRow, event: CallEvent): StatsRow => {
  const status = advanceCallStatus(row.status, event)
  switch (event.type) {
    case "CallTranscribed":
      return { ...row, status, language: event.data.language ?? row.language }
    case "CallDispositioned": {
      const d = event.data
      return {
        ...row,
        status,
        outcome: d.outcome ?? row.outcome,
        outcome_override: d.outcome ?? row.outcome_override,
        disposition: d.disposition ?? row.disposition,
        sentiment: d.sentiment ?? row.sentiment
      }
    }
    case "CallEnded":
      return {
        ...row,
        status,
        outcome: row.outcome_override ?? event.data.outcome,
        duration_seconds: event.data.durationSeconds
      }
    default:
      return { ...row, status }
  }
}

const statsColumns = [
  "call_id", "campaign_id", "started_at", "status", "outcome", "outcome_override", "disposition", "sentiment",
  "language", "duration_seconds"
] as const satisfies ReadonlyArray<keyof StatsRow>

/** Creates the tables and indexes if missing; after a rebuild cut short, finishes it (`rollUpFromRows`). */
const ensureStatsTables = (db: SqliteDatabase): void => {
  // A rebuild cut short, or a file from before the hourly or monthly rollup: the rollups are built from the calls.
  const cutShort = deferredIndexes.missingFrom(db, "call_stats_calls") ||
    (inSchema(db, "table", "call_stats_calls") && rollups.some(({ table }) => !inSchema(db, "table", table)))
  db.exec(schema)
  if (cutShort) rollUpFromRows(db)
  else deferredIndexes.create(db)
}

/**
 * Builds the rollups and the indexes from `call_stats_calls`, in one transaction. The calls are
 * grouped in SQL by hour and what they count for, so JS adds up a few contributions per hour, not one per call.
 */
const rollUpFromRows = (db: SqliteDatabase): void => {
  db.transaction(() => {
    deferredIndexes.create(db)
    const groups = db.prepare<[], Omit<EdgeGroup, "day"> & Pick<StatsRow, "campaign_id"> & { readonly hour: string }>(
      `SELECT campaign_id, substr(started_at, 1, 13) AS hour, status, outcome, disposition, sentiment, language,
         count(*) AS calls, sum(duration_seconds) AS duration_sum FROM call_stats_calls
       GROUP BY campaign_id, hour, status, outcome, disposition, sentiment, language`
    ).iterate()
    const amounts = rollups.map(() => new Map<string, number>())
    for (const group of groups) addToRollups(amounts, group, group.hour, group.calls, group.duration_sum)
    rollups.forEach(({ column, table }, i) => {
      db.exec(`DELETE FROM ${table}`)
      const insert = db.prepare(`INSERT INTO ${table} (scope, ${column}, metric, key, amount) VALUES (?, ?, ?, ?, ?)`)
      for (const [key, amount] of amounts[i]!) {
        if (amount !== 0) insert.run(...key.split(sep), amount)
      }
    })
  }).immediate()
}

/** A call's counted fields held in memory during a batch. */
interface PendingStats {
  row: StatsRow
  /** The row as stored when the batch first touched the call; null when there was none. */
  readonly stored: StatsRow | null
}

/**
 * The stats projection (`call_stats_calls` and the `rollups`). Write-behind: a batch keeps each
 * touched call's row in memory, and `flush` writes it once and moves the rollups by the difference
 * between the call's contribution before the batch and after it. A rollup amount that reaches zero
 * is deleted, so the rollup depends on the calls only, however the events were batched.
 */
export const callStatsProjection: Projection = (db) => {
  ensureStatsTables(db)
  const select = db.prepare<[string], StatsRow>("SELECT * FROM call_stats_calls WHERE call_id = ?")
  const insert = db.prepare(
    `INSERT OR REPLACE INTO call_stats_calls (${statsColumns.join(", ")}) VALUES (${statsColumns.map((c) => `@${c}`).join(", ")})`
  )
  const update = changedColumnsWriter<StatsRow>(db, "call_stats_calls", "call_id", statsColumns)
  const writers = rollups.map(({ column, table }) => ({
    bump: db.prepare(
      `INSERT INTO ${table} (scope, ${column}, metric, key, amount) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, ${column}, metric, key) DO UPDATE SET amount = amount + excluded.amount`
    ),
    dropZero: db.prepare(`DELETE FROM ${table} WHERE scope = ? AND ${column} = ? AND metric = ? AND key = ? AND amount = 0`)
  }))
  const pending = new BatchRows<PendingStats>()
  /** The rows it wrote last (see `recentRows.ts`): a call's next batch starts from it without a read. */
  const written = recentRowsOf<StatsRow>(db, callStatsName)
  /** True from `beginRebuild` to `endRebuild`: the rollup is left to `rollUpFromRows`. */
  let rebuilding = false
  return {
    name: callStatsName,
    eventTypes: new Set([
      "CallDialed", "CallInitiated", "CallRinging", "CallAnswered", "CallTranscribed", "CallDispositioned", "CallEnded"
    ]),
    apply: (recorded) => {
      const event = asCallEvent(recorded)
      if (event.type === "CallDialed") {
        const d = event.data
        // A soft-deleted call stream started again replaces the call it held.
        const earlier = pending.get(d.callId)
        const row: StatsRow = {
          call_id: d.callId,
          campaign_id: d.campaignId,
          started_at: toUtcInstant(d.at),
          status: d.status,
          outcome: null,
          outcome_override: null,
          disposition: null,
          sentiment: null,
          language: d.language,
          duration_seconds: 0
        }
        pending.set(d.callId, { row, stored: earlier === undefined ? select.get(d.callId) ?? null : earlier.stored })
        return
      }
      let call = pending.get(event.data.callId)
      if (call === undefined) {
        const stored = written.get(event.data.callId) ?? select.get(event.data.callId)
        if (stored === undefined) {
          throw new Error(`call stats: ${event.type} for unknown call ${event.data.callId} (${recorded.streamId}@${recorded.revision})`)
        }
        call = { row: stored, stored }
        pending.set(event.data.callId, call)
      }
      call.row = evolveStatsRow(call.row, event)
    },
    flush: () => {
      try {
        const deltas = rollups.map(() => new Map<string, number>())
        for (const { row, stored } of pending.values()) {
          if (!rebuilding) written.set(row.call_id, row)
          if (stored === null) insert.run(row)
          else if (!update(row, stored)) continue
          if (rebuilding) continue
          if (stored === null) addToRollups(deltas, row, row.started_at, 1, row.duration_seconds)
          else moveInRollups(deltas, stored, row)
        }
        deltas.forEach((byKey, i) => {
          const { bump, dropZero } = writers[i]!
          for (const [key, amount] of byKey) {
            if (amount === 0) continue
            const [scope, period, metric, k] = key.split(sep) as [string, string, string, string]
            bump.run(scope, period, metric, k, amount)
            if (amount < 0) dropZero.run(scope, period, metric, k)
          }
        })
      } finally {
        pending.clear()
        written.endBatch()
      }
    },
    discard: () => {
      pending.clear()
      written.forget()
    },
    reset: () => {
      pending.clear()
      written.forget()
      db.exec(["DELETE FROM call_stats_calls;", ...rollups.map(({ table }) => `DELETE FROM ${table};`)].join(" "))
    },
    beginRebuild: () => {
      rebuilding = true
      written.forget()
      deferredIndexes.drop(db)
    },
    endRebuild: () => {
      rollUpFromRows(db)
      rebuilding = false
    }
  }
}

/** `GET /calls/stats` parameters. Instants are ISO-8601, inclusive; a bare date `YYYY-MM-DD` means its whole UTC day. */
export interface CallStatsQuery {
  readonly campaignId?: string | undefined
  /** Calls started at or after this instant (a date: from its start). */
  readonly from?: string | undefined
  /** Calls started at or before this instant (a date: to its end). */
  readonly to?: string | undefined
}

/** Headline numbers, for the whole range and per day. */
export interface CallStatsTotals {
  readonly total_calls: number
  readonly connected: number
  readonly voicemail: number
  readonly no_answer: number
  readonly failed: number
  readonly connect_rate: number
  readonly avg_duration_seconds: number
}

/** One UTC day of the series. */
export interface DailyCallStats extends CallStatsTotals {
  /** `YYYY-MM-DD`, UTC. */
  readonly date: string
}

/** Seed 002's stats response plus breakdowns and a daily series; see the module docstring for definitions. */
export interface CallStats extends CallStatsTotals {
  readonly sentiment_breakdown: { readonly positive: number; readonly neutral: number; readonly negative: number }
  readonly by_status: Record<string, number>
  readonly by_disposition: Record<string, number>
  readonly by_language: Record<string, number>
  readonly daily: Array<DailyCallStats>
}

/** Day bounds of a range open at that end; they sort before and after every day and month. */
const minDay = "0000-00-00"
const maxDay = "9999-99-99"

const halfHourMillis = 1_800_000

/** The normalised instant `millis` ms after `instant` (negative goes back). */
const millisAfter = (instant: string, millis: number): string => new Date(Date.parse(instant) + millis).toISOString()

const isBareDate = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s)

type Amounts = Map<string, number>

const addInto = (target: Amounts, metricKey: string, amount: number): void => {
  target.set(metricKey, (target.get(metricKey) ?? 0) + amount)
}

const totalsOf = (a: Amounts): CallStatsTotals => {
  const get = (metric: string, key = ""): number => a.get(`${metric}${sep}${key}`) ?? 0
  const total = get("total")
  const connected = get("outcome", "connected")
  return {
    total_calls: total,
    connected,
    voicemail: get("outcome", "voicemail"),
    no_answer: get("outcome", "no-answer"),
    failed: get("outcome", "failed"),
    connect_rate: total === 0 ? 0 : Math.round((connected / total) * 100) / 100,
    avg_duration_seconds: connected === 0 ? 0 : Math.round(get("connected_seconds") / connected)
  }
}

const breakdown = (a: Amounts, metric: string): Record<string, number> => {
  const out: Record<string, number> = {}
  const prefix = `${metric}${sep}`
  for (const [metricKey, amount] of [...a].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    if (metricKey.startsWith(prefix) && amount !== 0) out[metricKey.slice(prefix.length)] = amount
  }
  return out
}

interface StatsStatements {
  /** Whole months summed in SQL, per metric and key: most of a long range's totals and breakdowns. */
  readonly monthTotals: Database.Statement
  /** Whole days summed in SQL, per metric and key: the totals and breakdowns of a range's edge months. */
  readonly rollupTotals: Database.Statement
  /** Whole days' headline metrics, one row per day (`[day, ...amounts of headlineMetrics]`): the daily series. */
  readonly rollupDaily: Database.Statement
  /** Whole hours of one day summed in SQL, per metric and key. */
  readonly hourly: Database.Statement
  readonly edgeAll: Database.Statement
  readonly edgeCampaign: Database.Statement
}
const statements = new WeakMap<SqliteDatabase, StatsStatements>()

/** The `metric<TAB>key` amounts `totalsOf` reads: what the daily series needs of each day. */
const headlineMetrics = [
  ["total", ""], ["outcome", "connected"], ["outcome", "voicemail"], ["outcome", "no-answer"], ["outcome", "failed"],
  ["connected_seconds", ""]
] as const
const headlineKeys = headlineMetrics.map(([metric, key]) => `${metric}${sep}${key}`)

/** Calls of an edge range grouped by day and counted fields, so JS sees a few groups, not every call. */
const edgeSelect = `SELECT substr(started_at, 1, 10) AS day, status, outcome, disposition, sentiment, language,
  count(*) AS calls, sum(duration_seconds) AS duration_sum FROM call_stats_calls`
const edgeGroup = "GROUP BY day, status, outcome, disposition, sentiment, language"

interface EdgeGroup extends CountedFields {
  readonly day: string
  readonly calls: number
  readonly duration_sum: number
}

const statementsOf = (db: SqliteDatabase): StatsStatements => {
  let s = statements.get(db)
  if (s === undefined) {
    s = {
      monthTotals: db.prepare(
        "SELECT metric, key, sum(amount) FROM call_stats_monthly WHERE scope = ? AND month >= ? AND month <= ? GROUP BY metric, key"
      ).raw(),
      rollupTotals: db.prepare(
        "SELECT metric, key, sum(amount) FROM call_stats_daily WHERE scope = ? AND day >= ? AND day <= ? GROUP BY metric, key"
      ).raw(),
      // Pivoted in SQL: a day comes back as one row of numbers, not a row per metric and key (100
      // days returned 600 rows to JS, 0.5 ms).
      rollupDaily: db.prepare(
        `SELECT day, ${headlineMetrics.map(([metric, key]) => `sum(amount) FILTER (WHERE metric = '${metric}' AND key = '${key}')`).join(", ")}
         FROM call_stats_daily WHERE scope = ? AND day >= ? AND day <= ?
         AND metric IN (${[...new Set(headlineMetrics.map(([metric]) => `'${metric}'`))].join(", ")}) GROUP BY day`
      ).raw(),
      hourly: db.prepare(
        "SELECT metric, key, sum(amount) FROM call_stats_hourly WHERE scope = ? AND hour >= ? AND hour <= ? GROUP BY metric, key"
      ).raw(),
      edgeAll: db.prepare(`${edgeSelect} WHERE started_at >= ? AND started_at <= ? ${edgeGroup}`),
      edgeCampaign: db.prepare(`${edgeSelect} WHERE campaign_id = ? AND started_at >= ? AND started_at <= ? ${edgeGroup}`)
    }
    statements.set(db, s)
  }
  return s
}

/** The SQL `readCallStats` runs, by statement name (for query-plan checks). */
export const callStatsQueries = (db: SqliteDatabase): Record<keyof StatsStatements, string> => {
  const s = statementsOf(db)
  return Object.fromEntries(Object.entries(s).map(([name, statement]) => [name, statement.source])) as Record<keyof StatsStatements, string>
}

/**
 * Stats of the calls started in `[from, to]`, optionally of one campaign. Totals come from whole
 * UTC months of the monthly rollup, the edge months' whole days of the daily one, the edge days'
 * whole hours of the hourly one, and partial hours call by call; the daily series from the daily
 * rollup and the edge days. Throws `InvalidInstant` for a malformed instant.
 */
export const readCallStats = (db: SqliteDatabase, query: CallStatsQuery = {}): CallStats => {
  const s = statementsOf(db)
  const from = query.from === undefined ? undefined : toUtcInstant(query.from)
  const to = query.to === undefined ? undefined : isBareDate(query.to) ? endOfUtcDay(query.to) : toUtcInstant(query.to)
  const byDay = new Map<string, Amounts>()
  const all: Amounts = new Map()
  const dayAmounts = (day: string): Amounts => {
    let a = byDay.get(day)
    if (a === undefined) {
      a = new Map()
      byDay.set(day, a)
    }
    return a
  }
  /** Adds (`sign` 1) or takes away (-1) the calls started in `[lo, hi]`, counted one by one. */
  const countCalls = (lo: string, hi: string, sign: 1 | -1 = 1): void => {
    const groups = (query.campaignId === undefined
      ? s.edgeAll.all(lo, hi)
      : s.edgeCampaign.all(query.campaignId, lo, hi)) as Array<EdgeGroup>
    for (const group of groups) {
      const a = dayAmounts(group.day)
      for (const [metricKey, amount] of contributionOf(group, group.calls, group.duration_sum)) {
        addInto(a, metricKey, sign * amount)
        addInto(all, metricKey, sign * amount)
      }
    }
  }
  const scope = query.campaignId === undefined ? "all" : `c:${query.campaignId}`
  /** Adds summed rollup rows `[metric, key, amount]` to the whole range, and to `day` when given. */
  const addTotals = (rows: ReadonlyArray<[string, string, number]>, day?: Amounts): void => {
    for (const [metric, key, amount] of rows) {
      addInto(all, `${metric}${sep}${key}`, amount)
      if (day !== undefined) addInto(day, `${metric}${sep}${key}`, amount)
    }
  }
  /** Adds the whole hours `[first, last]` of one day to the day and the whole range. */
  const addHours = (first: string, last: string): void =>
    addTotals(s.hourly.all(scope, first, last) as Array<[string, string, number]>, dayAmounts(utcDay(first)))
  /**
   * Adds whole days `[first, last]` (`minDay` / `maxDay` for no bound): their sums to the range,
   * from whole months and the days of the edge months; their headline metrics to each day.
   */
  const addDays = (first: string, last: string): void => {
    const daysTotals = (from: string, to: string) => addTotals(s.rollupTotals.all(scope, from, to) as Array<[string, string, number]>)
    const firstMonth = first === minDay || first === firstDayOfUtcMonth(utcMonth(first))
      ? utcMonth(first)
      : addUtcMonths(utcMonth(first), 1)
    const lastMonth = last === maxDay || last === lastDayOfUtcMonth(utcMonth(last)) ? utcMonth(last) : addUtcMonths(utcMonth(last), -1)
    if (firstMonth > lastMonth) daysTotals(first, last)
    else {
      addTotals(s.monthTotals.all(scope, firstMonth, lastMonth) as Array<[string, string, number]>)
      if (firstMonth !== utcMonth(first)) daysTotals(first, lastDayOfUtcMonth(utcMonth(first)))
      if (lastMonth !== utcMonth(last)) daysTotals(firstDayOfUtcMonth(utcMonth(last)), last)
    }
    for (const [day, ...amounts] of s.rollupDaily.all(scope, first, last) as Array<[string, ...Array<number | null>]>) {
      const a = dayAmounts(day)
      headlineKeys.forEach((metricKey, i) => addInto(a, metricKey, amounts[i] ?? 0))
    }
  }
  /**
   * The calls started in `[lo, hi]`, within one UTC day: whole hours from the hourly rollup, the
   * rest call by call. A partial first or last hour is counted as it is, or as its whole hour less
   * the calls outside the range when that part is shorter, so an edge counts at most half an hour
   * of calls one by one (09:30 to 17:45 counts 09:30-10:00 and takes 17:45-18:00 away from 17:00-18:00).
   */
  const countWithinDay = (lo: string, hi: string): void => {
    const [loHour, hiHour] = [utcHour(lo), utcHour(hi)]
    if (loHour === hiHour && (lo !== startOfUtcHour(loHour) || hi !== endOfUtcHour(hiHour))) return countCalls(lo, hi)
    // Milliseconds of the first hour before `lo`, and of the last hour after `hi`.
    const before = Date.parse(lo) - Date.parse(startOfUtcHour(loHour))
    const after = Date.parse(endOfUtcHour(hiHour)) - Date.parse(hi)
    const firstHour = before < halfHourMillis ? loHour : addUtcHours(loHour, 1)
    const lastHour = after < halfHourMillis ? hiHour : addUtcHours(hiHour, -1)
    if (firstHour <= lastHour) addHours(firstHour, lastHour)
    if (before > 0) {
      if (firstHour === loHour) countCalls(startOfUtcHour(loHour), millisAfter(lo, -1), -1)
      else countCalls(lo, endOfUtcHour(loHour))
    }
    if (after > 0) {
      if (lastHour === hiHour) countCalls(millisAfter(hi, 1), endOfUtcHour(hiHour), -1)
      else countCalls(startOfUtcHour(hiHour), hi)
    }
  }
  if (from === undefined || to === undefined || from <= to) {
    const firstWholeDay = from === undefined ? undefined : firstWholeUtcDay(from)
    const lastWholeDay = to === undefined ? undefined : lastWholeUtcDay(to)
    if (firstWholeDay !== undefined && lastWholeDay !== undefined && firstWholeDay > lastWholeDay) {
      // No whole day inside: one partial day, or the ends of two consecutive ones.
      if (utcDay(from!) === utcDay(to!)) countWithinDay(from!, to!)
      else {
        countWithinDay(from!, endOfUtcDay(utcDay(from!)))
        countWithinDay(startOfUtcDay(utcDay(to!)), to!)
      }
    } else {
      addDays(firstWholeDay ?? minDay, lastWholeDay ?? maxDay)
      if (from !== undefined && firstWholeDay !== utcDay(from)) countWithinDay(from, endOfUtcDay(utcDay(from)))
      if (to !== undefined && lastWholeDay !== utcDay(to)) countWithinDay(startOfUtcDay(utcDay(to)), to)
    }
  }
  const daily: Array<DailyCallStats> = []
  for (const day of [...byDay.keys()].sort()) {
    const totals = totalsOf(byDay.get(day)!)
    if (totals.total_calls > 0) daily.push({ date: day, ...totals })
  }
  const sentiment = breakdown(all, "sentiment")
  return {
    ...totalsOf(all),
    sentiment_breakdown: {
      positive: sentiment.positive ?? 0,
      neutral: sentiment.neutral ?? 0,
      negative: sentiment.negative ?? 0
    },
    by_status: breakdown(all, "status"),
    by_disposition: breakdown(all, "disposition"),
    by_language: breakdown(all, "language"),
    daily
  }
}

import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callStatsProjection, callStatsQueries, readCallStats } from "../../src/projections/callStats.js"
import type { CallStats, CallStatsQuery, CallStatsTotals } from "../../src/projections/callStats.js"
import type { CallCommand } from "../../src/domain/callCommands.js"
import type { CallView } from "../../src/projections/callViewSchema.js"
import { InvalidInstant } from "../../src/projections/utcInstant.js"
import { after, answer, dial, disposition, end, generateCalls, makeLedger } from "./callScenarios.js"

/** Stats computed straight from the call view's rows, by the documented definitions. */
const directStats = (all: ReadonlyArray<CallView>, query: CallStatsQuery): CallStats => {
  const from = query.from === undefined ? undefined : new Date(query.from).toISOString()
  const to = query.to === undefined
    ? undefined
    : /^\d{4}-\d{2}-\d{2}$/.test(query.to) ? `${query.to}T23:59:59.999Z` : new Date(query.to).toISOString()
  const calls = all.filter((c) =>
    (query.campaignId === undefined || c.campaign_id === query.campaignId) &&
    (from === undefined || c.started_at >= from) &&
    (to === undefined || c.started_at <= to)
  )
  const totals = (cs: ReadonlyArray<CallView>): CallStatsTotals => {
    const connected = cs.filter((c) => c.outcome === "connected")
    return {
      total_calls: cs.length,
      connected: connected.length,
      voicemail: cs.filter((c) => c.outcome === "voicemail").length,
      no_answer: cs.filter((c) => c.outcome === "no-answer").length,
      failed: cs.filter((c) => c.outcome === "failed").length,
      connect_rate: cs.length === 0 ? 0 : Math.round((connected.length / cs.length) * 100) / 100,
      avg_duration_seconds: connected.length === 0
        ? 0
        : Math.round(connected.reduce((s, c) => s + c.duration_seconds, 0) / connected.length)
    }
  }
  const countBy = (key: (c: CallView) => string | null): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const c of calls) {
      const k = key(c)
      if (k !== null) out[k] = (out[k] ?? 0) + 1
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)))
  }
  const days = [...new Set(calls.map((c) => c.started_at.slice(0, 10)))].sort()
  return {
    ...totals(calls),
    sentiment_breakdown: {
      positive: calls.filter((c) => c.sentiment === "positive").length,
      neutral: calls.filter((c) => c.sentiment === "neutral").length,
      negative: calls.filter((c) => c.sentiment === "negative").length
    },
    by_status: countBy((c) => c.status),
    by_disposition: countBy((c) => c.disposition),
    by_language: countBy((c) => (c.language === null ? null : Intl.getCanonicalLocales(c.language)[0]!)),
    daily: days.map((date) => ({ date, ...totals(calls.filter((c) => c.started_at.startsWith(date))) }))
  }
}

/** A ledger with `commands` projected, for the enclosing describe; `all` is its calls as the call view holds them. */
const projectedLedger = (commands: () => Array<CallCommand>) => {
  const fixture = {} as { ledger: Awaited<ReturnType<typeof makeLedger>>; all: Array<CallView> }
  beforeAll(async () => {
    fixture.ledger = await makeLedger()
    await fixture.ledger.send(...commands())
    await fixture.ledger.catchUp()
    fixture.all = (fixture.ledger.db.prepare("SELECT doc FROM calls").all() as Array<{ doc: string }>).map((r) => JSON.parse(r.doc) as CallView)
  })
  afterAll(() => fixture.ledger.close())
  return fixture
}

/** One test per range: `readCallStats` equals `directStats` over the fixture's calls. */
const itEqualsDirectStats = (fixture: ReturnType<typeof projectedLedger>, ranges: ReadonlyArray<[string, CallStatsQuery]>) =>
  it.each(ranges)("%s: equals a direct computation over the calls", (_name, query) => {
    expect(readCallStats(fixture.ledger.db, query)).toEqual(directStats(fixture.all, query))
  })

describe("call stats", () => {
  const f = projectedLedger(() => generateCalls(400, 11))

  const ranges: ReadonlyArray<[string, CallStatsQuery]> = [
    ["everything", {}],
    ["one campaign", { campaignId: "cmp_a" }],
    ["an unknown campaign", { campaignId: "cmp_none" }],
    ["whole days as bare dates", { from: "2024-03-02", to: "2024-03-03" }],
    ["whole days as instants", { from: "2024-03-02T00:00:00Z", to: "2024-03-03T23:59:59.999Z" }],
    ["partial edge days on both sides", { from: "2024-03-01T13:17:00Z", to: "2024-03-04T08:00:00.500Z" }],
    ["partial edges, one campaign", { campaignId: "cmp_b", from: "2024-03-01T13:17:00Z", to: "2024-03-04T08:00:00.500Z" }],
    ["inside one day", { from: "2024-03-03T06:00:00Z", to: "2024-03-03T18:00:00Z" }],
    ["inside one hour", { from: "2024-03-03T06:10:00Z", to: "2024-03-03T06:50:00Z" }],
    ["two partial hours side by side", { from: "2024-03-03T06:30:00Z", to: "2024-03-03T07:15:00Z" }],
    ["edge days of whole hours", { campaignId: "cmp_a", from: "2024-03-01T06:00:00Z", to: "2024-03-03T17:59:59.999Z" }],
    ["across one midnight", { from: "2024-03-02T20:00:00Z", to: "2024-03-03T04:00:00Z" }],
    ["edge hours as whole hours less the calls outside", { from: "2024-03-01T10:50:00Z", to: "2024-03-03T14:55:00Z" }],
    ["two hours less both ends", { from: "2024-03-02T05:10:00Z", to: "2024-03-02T06:50:00Z" }],
    ["a partial hour beside a whole one less its end", { campaignId: "cmp_a", from: "2024-03-02T05:45:00Z", to: "2024-03-02T06:40:00.250Z" }],
    ["only a partial start", { from: "2024-03-02T12:34:56Z" }],
    ["only a partial end", { to: "2024-03-02T12:34:56+05:30" }],
    ["an empty range", { from: "2024-04-01", to: "2024-04-30" }],
    ["from after to", { from: "2024-03-04T00:00:00Z", to: "2024-03-02T00:00:00Z" }]
  ]

  itEqualsDirectStats(f, ranges)

  it("the generated calls cover every outcome, several days and live calls", () => {
    const stats = readCallStats(f.ledger.db)
    expect(stats.total_calls).toBe(400)
    for (const n of [stats.connected, stats.voicemail, stats.no_answer, stats.failed]) expect(n).toBeGreaterThan(0)
    expect(stats.by_status.ringing ?? 0).toBeGreaterThan(0)
    expect(stats.daily.length).toBe(5)
    expect(stats.by_language["en-IN"]).toBe(f.all.filter((c) => c.language?.toLowerCase() === "en-in").length)
    const partial = readCallStats(f.ledger.db, { from: "2024-03-01T13:17:00Z", to: "2024-03-04T08:00:00.500Z" })
    const whole = readCallStats(f.ledger.db, { from: "2024-03-01", to: "2024-03-04" })
    expect(partial.total_calls).toBeLessThan(whole.total_calls)
  })

  it("moves a call between counts when a later event changes its outcome or sentiment", async () => {
    const t = "2024-06-10T10:00:00Z"
    await f.ledger.send(
      dial("cal_s1", t, { campaignId: "cmp_stats" }),
      answer("cal_s1", after(t, 2)),
      disposition("cal_s1", after(t, 50), { sentiment: "positive" }),
      end("cal_s1", after(t, 62), "user_hangup")
    )
    await f.ledger.catchUp()
    const before = readCallStats(f.ledger.db, { campaignId: "cmp_stats" })
    expect(before).toMatchObject({
      total_calls: 1, connected: 1, voicemail: 0, connect_rate: 1, avg_duration_seconds: 60,
      sentiment_breakdown: { positive: 1, neutral: 0, negative: 0 }, by_status: { completed: 1 }
    })
    await f.ledger.send(disposition("cal_s1", after(t, 90), { outcome: "voicemail", sentiment: "negative", disposition: "callback" }))
    await f.ledger.catchUp()
    expect(readCallStats(f.ledger.db, { campaignId: "cmp_stats" })).toMatchObject({
      total_calls: 1, connected: 0, voicemail: 1, connect_rate: 0, avg_duration_seconds: 0,
      sentiment_breakdown: { positive: 0, neutral: 0, negative: 1 }, by_disposition: { callback: 1 },
      daily: [{ date: "2024-06-10", total_calls: 1, connected: 0, voicemail: 1 }]
    })
  })

  it("reads whole months, days and hours from the rollup tables by their primary keys, partial hours through the started_at indexes", () => {
    const plan = (sql: string) => {
      const params = Array.from({ length: sql.split("?").length - 1 }, () => "x")
      return (f.ledger.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join("; ")
    }
    const queries = callStatsQueries(f.ledger.db)
    expect(plan(queries.monthTotals)).toMatch(/SEARCH call_stats_monthly USING PRIMARY KEY \(scope=\? AND month>\? AND month<\?\)/)
    expect(plan(queries.rollupTotals)).toMatch(/SEARCH call_stats_daily USING PRIMARY KEY \(scope=\? AND day>\? AND day<\?\)/)
    expect(plan(queries.rollupDaily)).toMatch(/SEARCH call_stats_daily USING PRIMARY KEY \(scope=\? AND day>\? AND day<\?\)/)
    expect(plan(queries.hourly)).toMatch(/SEARCH call_stats_hourly USING PRIMARY KEY \(scope=\? AND hour>\? AND hour<\?\)/)
    expect(plan(queries.edgeAll)).toContain("call_stats_calls_by_started")
    expect(plan(queries.edgeCampaign)).toContain("call_stats_calls_by_campaign")
  })

  it("a file from before the hourly rollup gets it built from the calls when the projection opens", () => {
    const query = { campaignId: "cmp_a", from: "2024-03-01T13:17:00Z", to: "2024-03-04T08:00:00.500Z" }
    const before = readCallStats(f.ledger.db, query)
    f.ledger.db.exec("DROP TABLE call_stats_hourly")
    callStatsProjection(f.ledger.db)
    expect((f.ledger.db.prepare("SELECT count(*) AS n FROM call_stats_hourly").get() as { n: number }).n).toBeGreaterThan(0)
    expect(readCallStats(f.ledger.db, query)).toEqual(before)
  })

  it("counts calls started exactly at either bound when the edge hours come from the rollup less the calls outside", async () => {
    await f.ledger.send(
      dial("cal_edge_lo", "2024-07-01T10:10:00.000Z", { campaignId: "cmp_edges" }),
      dial("cal_edge_hi", "2024-07-01T12:50:00.000Z", { campaignId: "cmp_edges" }),
      dial("cal_edge_out1", "2024-07-01T10:09:59.999Z", { campaignId: "cmp_edges" }),
      dial("cal_edge_out2", "2024-07-01T12:50:00.001Z", { campaignId: "cmp_edges" })
    )
    await f.ledger.catchUp()
    const stats = readCallStats(f.ledger.db, { campaignId: "cmp_edges", from: "2024-07-01T10:10:00Z", to: "2024-07-01T12:50:00Z" })
    expect(stats.total_calls).toBe(2)
    expect(stats.daily).toEqual([expect.objectContaining({ date: "2024-07-01", total_calls: 2 })])
  })

  it("rejects a malformed instant", () => {
    expect(() => readCallStats(f.ledger.db, { from: "last tuesday" })).toThrow(InvalidInstant)
  })
})

describe("call stats over several months (whole months from the monthly rollup)", () => {
  // 2024-01-20 .. 2024-04-08: a leap February, two whole months and two partial ones.
  const f = projectedLedger(() => generateCalls(300, 5, "cal_m", { from: "2024-01-20T00:00:00.000Z", days: 80 }))

  const ranges: ReadonlyArray<[string, CallStatsQuery]> = [
    ["everything", {}],
    ["one campaign", { campaignId: "cmp_c" }],
    ["whole months as bare dates", { from: "2024-02-01", to: "2024-03-31" }],
    ["the leap February alone", { from: "2024-02-01", to: "2024-02-29" }],
    ["partial months on both sides", { from: "2024-01-25T10:30:00Z", to: "2024-04-03T17:15:00Z" }],
    ["partial months, one campaign", { campaignId: "cmp_a", from: "2024-01-25", to: "2024-03-10" }],
    ["within one month", { from: "2024-02-03", to: "2024-02-20T12:00:00Z" }],
    ["two partial months side by side", { from: "2024-02-10", to: "2024-03-05" }],
    ["from a month's first day, no end", { from: "2024-02-01" }],
    ["from mid-month, no end", { from: "2024-02-10" }],
    ["a partial start, to a month's last day", { from: "2024-01-25T10:00:00Z", to: "2024-03-31" }],
    ["no start, to a mid-month instant", { to: "2024-03-15T08:00:00Z" }]
  ]

  itEqualsDirectStats(f, ranges)

  it("the calls span four months", () => {
    const months = new Set(readCallStats(f.ledger.db).daily.map((d) => d.date.slice(0, 7)))
    expect([...months].sort()).toEqual(["2024-01", "2024-02", "2024-03", "2024-04"])
  })

  it("a file from before the monthly rollup gets it built from the calls when the projection opens", () => {
    const query = { campaignId: "cmp_b", from: "2024-01-25", to: "2024-03-31" }
    const before = readCallStats(f.ledger.db, query)
    f.ledger.db.exec("DROP TABLE call_stats_monthly")
    callStatsProjection(f.ledger.db)
    expect((f.ledger.db.prepare("SELECT count(*) AS n FROM call_stats_monthly").get() as { n: number }).n).toBeGreaterThan(0)
    expect(readCallStats(f.ledger.db, query)).toEqual(before)
  })
})

import { describe, expect, it } from "vitest"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { figures, formatTable, runBench } from "../../bench/run.js"

/** Every row the full run prints, by the start of its figure name. */
const expectedFigures = [
  "append throughput (command path)", "command latency (decide + append) p50", "command latency (decide + append) p99",
  "command latency (CallLedger.execute, read-your-writes) p99", "command latency on a long call", "projection rebuild",
  "list none, first page", "list none, deep page",
  "list campaign_id, first page", "list from/to, deep page", "stats campaign, instants", "peak RSS", "webhook delivery throughput",
  "head-of-line isolation", "dispatcher wake-up among 1,000 endpoints", "outbox event among 1,000 endpoints",
  "end-to-end call ended -> webhook received p99", "HTTP ingest"
]

describe("npm run bench (smoke, tiny scale)", () => {
  it("runs every figure and writes a table with a number in every row", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "bench-smoke-")), "report.json")
    const report = await runBench({ scale: 0.001, out, quiet: true })

    expect(figures).toHaveLength(7)
    expect(report.node).toBe(process.version)
    expect(report.machine.cores).toBeGreaterThan(0)
    for (const figure of expectedFigures) expect(report.rows.map((r) => r.figure).some((f) => f.startsWith(figure))).toBe(true)
    for (const row of report.rows) {
      expect(Number.isFinite(row.ours), row.figure).toBe(true)
      expect(row.ours, row.figure).toBeGreaterThan(0)
      if (row.beside !== null) {
        expect(Number.isFinite(row.besideValue), row.figure).toBe(true)
        expect(Number.isFinite(row.ratio), row.figure).toBe(true)
      }
    }
    expect(report.rows.filter((r) => r.beside !== null).length).toBeGreaterThanOrEqual(8)
    // Every list and stats row has the reference server's latency for the same body beside it.
    const queryRows = report.rows.filter((r) => r.figure.startsWith("list ") || r.figure.startsWith("stats "))
    expect(queryRows.length).toBe(35)
    for (const row of queryRows) expect(row.beside, row.figure).toBe("same body, no-op HttpApi")
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(JSON.parse(JSON.stringify(report)))
    expect(formatTable(report.rows).split("\n")).toHaveLength(report.rows.length + 2)
  }, 300_000)
})

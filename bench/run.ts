/**
 * `npm run bench [-- --scale 0.01] [-- --only name,name] [-- --out file.json]`: runs every figure,
 * prints one table (ours beside a peer's or the machine's limit, measured in this run, with the
 * ratio and the target) and writes it as JSON under `bench/results/`. Scale 1 is the full
 * run (1M events, 1M calls); data comes from the simulator with a fixed seed.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { turnOffAllocationSitePretenuring } from "../src/api/v8Flags.js"
import { appendThroughput } from "./appendThroughput.js"
import type { BenchFigure, BenchRow } from "./benchTypes.js"
import { commandLatency } from "./commandLatency.js"
import { benchSeed } from "./dataset.js"
import { endToEndLatency } from "./endToEndLatency.js"
import { httpIngest } from "./httpIngest.js"
import { projectionRebuild } from "./projectionRebuild.js"
import { readModelQueries } from "./readModelQueries.js"
import { webhookDelivery } from "./webhookDelivery.js"

export const figures: ReadonlyArray<BenchFigure> = [
  appendThroughput, commandLatency, projectionRebuild, readModelQueries, webhookDelivery, endToEndLatency, httpIngest
]

export interface BenchReport {
  readonly startedAt: string
  readonly machine: { readonly cpus: string; readonly cores: number; readonly memoryGiB: number; readonly os: string; readonly loadAverage: ReadonlyArray<number> }
  readonly node: string
  readonly scale: number
  readonly seed: number
  readonly seconds: number
  readonly rows: ReadonlyArray<BenchRow>
}

const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  if (i >= 0) return args[i + 1]
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
}

const format = (n: number | null): string => {
  if (n === null) return "-"
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US")
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** The table as aligned text. */
export const formatTable = (rows: ReadonlyArray<BenchRow>): string => {
  const header = ["figure", "unit", "ours", "beside", "value", "ratio", "target", "met"]
  const lines = rows.map((r) => [r.figure, r.unit, format(r.ours), r.beside ?? "-", format(r.besideValue), r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`, r.target, r.met ? "yes" : "NO"])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [row(header), row(widths.map((w) => "-".repeat(w))), ...lines.map(row)].join("\n")
}

/** Runs the suite and returns its report (also printed and written). */
export const runBench = async (options: { readonly scale: number; readonly only?: ReadonlyArray<string> | undefined; readonly out?: string | undefined; readonly quiet?: boolean }): Promise<BenchReport> => {
  const benchDir = dirname(fileURLToPath(import.meta.url))
  const log = (message: string) => {
    if (options.quiet !== true) console.error(`[bench] ${message}`)
  }
  // As in every process a ledger runs in (`callLedgerLayer`, the `call-ledger` command): the
  // in-process figures run lower-level parts that leave V8's settings alone, so a full run and an
  // `--only` run would otherwise differ by which figure built a ledger first.
  turnOffAllocationSitePretenuring()
  const started = Date.now()
  const cpus = os.cpus()
  const machine = {
    cpus: cpus[0]?.model ?? "unknown", cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`, loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100)
  }
  log(`machine: ${machine.cpus}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${process.version}; scale ${options.scale}; seed ${benchSeed}`)
  const workRoot = join(os.tmpdir(), `call-ledger-bench-${process.pid}`)
  const rows: Array<BenchRow> = []
  try {
    for (const figure of figures) {
      if (options.only !== undefined && !options.only.some((o) => figure.name.includes(o))) continue
      const figureStart = Date.now()
      log(`${figure.name}...`)
      rows.push(...await figure.run({ scale: options.scale, workDir: join(workRoot, figure.name.replaceAll(" ", "-")), log }))
      log(`${figure.name}: ${((Date.now() - figureStart) / 1000).toFixed(1)} s`)
    }
  } finally {
    rmSync(workRoot, { recursive: true, force: true })
  }
  const report: BenchReport = {
    startedAt: new Date(started).toISOString(), machine, node: process.version, scale: options.scale, seed: benchSeed,
    seconds: Math.round((Date.now() - started) / 100) / 10, rows
  }
  const out = options.out ?? join(benchDir, "results", `bench-${report.startedAt.replaceAll(":", "-").slice(0, 19)}-scale-${options.scale}.json`)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
  if (options.quiet !== true) {
    console.log(`call-ledger bench: ${machine.cpus}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverage.join(" ")}; Node ${process.version}`)
    console.log(`dataset: scale ${options.scale} (1M events rebuilt, ${Math.round(1_000_000 * options.scale).toLocaleString("en-US")} calls queried at scale 1), simulator seed ${benchSeed}; ${report.seconds} s`)
    console.log(formatTable(rows))
    console.log(`${rows.filter((r) => r.met).length} of ${rows.length} targets met; written to ${out}`)
  }
  return report
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const scale = Number(flag(args, "scale") ?? "1")
  if (!(scale > 0)) throw new Error("--scale must be a positive number")
  await runBench({ scale, only: flag(args, "only")?.split(","), out: flag(args, "out") })
  process.exit(0)
}

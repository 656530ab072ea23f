/**
 * HTTP ingest, requests/s of `POST /v1/calls/{id}/events`: `call-ledger serve` in a child process
 * taking the agent pipeline's reports of simulated calls (answered, transcribed, transferred,
 * dispositioned, metrics, recording; each decided, appended and projected before the answer),
 * against an Effect `HttpApi` server whose same endpoint does nothing (`noopServer.ts`), sent the
 * same requests with the same concurrency over keep-alive connections.
 */
import { join } from "node:path"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, scaled, since, throughputRow } from "./benchTypes.js"
import { callScenario } from "../src/cli/simulate/callScenario.js"
import { seededRandom } from "../src/cli/simulate/seededRandom.js"
import { benchSeed } from "./dataset.js"
import { buildEntry, freePort, request, startServerProcess, unlimitedRateLimits } from "./serverProcess.js"

/** Reports sent at once (calls in flight, each sending its reports in order). */
const concurrency = 32

/** Each simulated call's create body and reports, for the answered ones. */
const workload = (count: number) => {
  const random = seededRandom(benchSeed + 1)
  const out: Array<{ create: Record<string, unknown>; reports: Array<Record<string, unknown>> }> = []
  for (let i = 0; out.length < count; i++) {
    const scenario = callScenario(random, i, "+15550010000")
    if (scenario.outcome !== "connected" && scenario.outcome !== "voicemail") continue
    const reports = scenario.steps.flatMap((s) => (s.kind === "report" ? [s.body as Record<string, unknown>] : []))
    out.push({ create: scenario.createBody as Record<string, unknown>, reports: [{ type: "answered", answered_by: "human" }, ...reports] })
  }
  return out
}

/** Sends every call's reports to `base` with `concurrency` calls at once; requests/s. */
const drive = async (base: string, calls: ReadonlyArray<{ id: string; reports: ReadonlyArray<Record<string, unknown>> }>) => {
  let next = 0
  let sent = 0
  const start = performance.now()
  const worker = async () => {
    while (next < calls.length) {
      const call = calls[next++]!
      for (const report of call.reports) {
        const response = await request(base, "POST", `/v1/calls/${call.id}/events`, report)
        if (response.status !== 200) throw new Error(`POST events: ${response.status} ${response.body.slice(0, 300)}`)
        sent++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return sent / (since(start) / 1000)
}

export const httpIngest: BenchFigure = {
  name: "HTTP ingest",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "ingest")
    const work = workload(scaled(context, 2_000, 20))
    const ledgerPort = await freePort()
    const ledger = await startServerProcess(await buildEntry("src/cli/main.ts", "call-ledger"), [
      "serve", "--db", join(dir, "ledger.db"), "--port", String(ledgerPort)
    ], ledgerPort, "/health", { LEDGER_RATE_LIMITS: unlimitedRateLimits })
    let ours: number
    let calls: Array<{ id: string; reports: ReadonlyArray<Record<string, unknown>> }>
    try {
      context.log(`ingest: creating ${work.length} calls`)
      calls = []
      for (const w of work) {
        const created = await request(ledger.url, "POST", "/v1/calls", w.create)
        if (created.status !== 201 && created.status !== 200) throw new Error(`POST /v1/calls: ${created.status} ${created.body.slice(0, 300)}`)
        calls.push({ id: (JSON.parse(created.body) as { id: string }).id, reports: w.reports })
      }
      context.log(`ingest: ${calls.reduce((n, c) => n + c.reports.length, 0)} reports`)
      ours = await drive(ledger.url, calls)
    } finally {
      await ledger.stop()
    }
    const noopPort = await freePort()
    const noop = await startServerProcess(await buildEntry("bench/noopServer.ts", "noop-server"), [String(noopPort)], noopPort, "/health")
    let reference: number
    try {
      reference = await drive(noop.url, calls)
    } finally {
      await noop.stop()
    }
    return [throughputRow({
      figure: "HTTP ingest POST /v1/calls/{id}/events", unit: "requests/s", ours,
      beside: "no-op Effect HttpApi endpoint", besideValue: reference, target: ">= 0.6 of no-op",
      note: `${calls.reduce((n, c) => n + c.reports.length, 0)} reports of ${calls.length} calls, ${concurrency} at once`
    }, (_, ratio) => ratio !== null && ratio >= 0.6)]
  }
}

/**
 * End-to-end latency, call ended -> webhook received, p50/p99, at 200 calls/s: the whole ledger in
 * this process (`callLedgerLayer`: command path, projections, outbox, dispatcher) with a
 * `call.completed` subscriber on loopback. A simulated call starts every 5 ms and sends its
 * commands one after another through `CallLedger.execute`; the clock starts when the command that
 * ends the call is sent and stops when the receiver has the webhook. The first 2 s of calls warm
 * the process up (JIT, prepared statements, the receiver's connections) and are not counted: the
 * figure is the steady state at that rate.
 */
import { Effect, Layer } from "effect"
import http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { CallLedger } from "../src/api/callLedger.js"
import { callLedgerLayer } from "../src/api/callLedgerLayer.js"
import { makeLedgerConfig } from "../src/api/ledgerConfig.js"
import { createWebhookEndpoint } from "../src/webhooks/webhookEndpoints.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, latencyRow, percentile, scaled } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"

const callsPerSecond = 200

export const endToEndLatency: BenchFigure = {
  name: "end-to-end latency",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "e2e")
    const warmup = scaled(context, 2 * callsPerSecond, 10)
    const calls = [...simulatedCalls(warmup + scaled(context, 3_000, 50), { startMillis: Date.parse("2025-05-01T00:00:00Z") })]
    const received = new Map<string, number>()
    const server = http.createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8")
      req.on("data", (c: string) => {
        body += c
      })
      req.on("end", () => {
        const at = performance.now()
        const parsed = JSON.parse(body) as { type: string; data: { id?: string } }
        if (parsed.type === "call.completed" && parsed.data.id !== undefined && !received.has(parsed.data.id)) received.set(parsed.data.id, at)
        res.statusCode = 204
        res.end()
      })
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
    const config = makeLedgerConfig({ databasePath: join(dir, "ledger.db") })
    const ended = new Map<string, number>()
    context.log(`e2e: ${calls.length} calls at ${callsPerSecond} calls/s`)
    try {
      await Effect.runPromise(Effect.gen(function*() {
        const ledger = yield* CallLedger
        yield* createWebhookEndpoint({ url, eventTypes: ["call.completed"] })
        const start = performance.now()
        yield* Effect.forEach(calls, (call, i) =>
          Effect.gen(function*() {
            const due = start + (i * 1000) / callsPerSecond - performance.now()
            if (due > 0) yield* Effect.sleep(due)
            for (const { command } of call.commands) {
              const sent = performance.now()
              const result = yield* Effect.either(ledger.execute(command))
              if (i >= warmup && result._tag === "Right" && result.right.events.some((e) => e.type === "CallEnded")) ended.set(call.callId, sent)
            }
          }), { concurrency: "unbounded", discard: true })
        const deadline = performance.now() + 30_000
        const waiting = () => [...ended.keys()].some((id) => !received.has(id))
        while (waiting() && performance.now() < deadline) yield* Effect.sleep(20)
      }).pipe(Effect.provide(Layer.orDie(callLedgerLayer(config))), Effect.scoped))
    } finally {
      server.closeAllConnections()
      server.close()
    }
    const latencies = [...ended].flatMap(([id, sent]) => {
      const at = received.get(id)
      return at === undefined ? [] : [at - sent]
    })
    const missing = ended.size - latencies.length
    const note = `${calls.length - warmup} calls at ${callsPerSecond}/s after ${warmup} to warm up, ${latencies.length} webhooks${missing > 0 ? `, ${missing} missing` : ""}`
    return [50, 99].map((p) => latencyRow({
      figure: `end-to-end call ended -> webhook received p${p}`, unit: "ms",
      ours: missing > 0 && p === 99 ? Number.POSITIVE_INFINITY : percentile(latencies, p),
      beside: null, besideValue: null, target: p === 99 ? "p99 < 100 ms" : "-", note
    }, (ours) => p !== 99 || ours < 100))
  }
}

/**
 * The whole ledger on the EventStoreDB adapter, end to end: two in-process instances on one
 * EventStoreDB (the real client over gRPC to the in-process test server), `runSimulation`
 * driving realistic calls through instance A's HTTP API (dials, signed Twilio callbacks with
 * duplicates and out-of-order ones, agent reports) while B's dispatcher competes for the
 * webhooks. Every `call.completed` is received, verified and sent once; both instances' read
 * models (calls, stats, transcripts, live calls) agree with what the simulation drove; the
 * claim streams stay out of the projections.
 */
import { Effect } from "effect"
import { EventStoreDBClient } from "@eventstore/db-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runSimulation } from "../../src/cli/simulate/runSimulation.js"
import { makeEsdbEventStore } from "../../src/store/esdb/esdbEventStore.js"
import { webhookDeliveryStreamPrefix } from "../../src/webhooks/webhookDeliveryClaims.js"
import { webhookEndpointStreamPrefix } from "../../src/webhooks/webhookEndpointEvents.js"
import { expectStatus } from "../fixtures/callDriver.js"
import type { Json } from "../fixtures/ledgerClient.js"
import { eventually, tempFolder } from "../fixtures/ledgerServer.js"
import { startEsdbTestServer } from "../store/esdb/esdbTestServer.js"
import type { EsdbTestServer } from "../store/esdb/esdbTestServer.js"
import { clusterTwilioToken, startInProcessInstance } from "./clusterInstances.js"
import type { ClusterInstance } from "./clusterInstances.js"

let server: EsdbTestServer
let folder: ReturnType<typeof tempFolder>
let a: ClusterInstance
let b: ClusterInstance

beforeAll(async () => {
  server = await startEsdbTestServer()
  folder = tempFolder("call-ledger-esdb-e2e-")
  ;[a, b] = await Promise.all([
    startInProcessInstance("a", server.connectionString, folder.path),
    startInProcessInstance("b", server.connectionString, folder.path)
  ])
}, 60_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await server?.stop()
  folder?.remove()
})

/** What an instance's read models say about the calls: list, stats, per-outcome counts, live calls. */
const readModels = async (instance: ClusterInstance) => {
  const page = expectStatus(await instance.api.get("/v1/calls?limit=100"), 200, "list")
  const stats = expectStatus(await instance.api.get("/v1/calls/stats"), 200, "stats")
  const live = expectStatus(await instance.api.get("/v1/calls/live"), 200, "live")
  return {
    calls: (page.data as Array<Json>).map((c) => [c.id, c.status, c.outcome, c.disposition, c.revision]).sort(),
    total: page.total as number,
    stats,
    live: live.total as number
  }
}

describe("the ledger on EventStoreDB", () => {
  it("runSimulation through A with B running: every webhook once, and both instances' read models agree with the calls driven", async () => {
    const calls = 40
    const summary = await runSimulation({
      url: a.url,
      calls,
      seed: 17,
      concurrency: 8,
      twilioAuthToken: clusterTwilioToken,
      webhookTimeoutMillis: 30_000
    })
    expect(summary.failedRequests).toBe(0)
    expect(summary.webhooks).toEqual(expect.objectContaining({ expected: calls, received: calls, rejected: 0, missing: 0, duplicates: 0 }))
    expect(summary.webhooks.verified).toBe(calls)

    const onA = await readModels(a)
    expect(onA.total).toBe(calls)
    expect(onA.live).toBe(0)
    expect(onA.stats).toEqual(expect.objectContaining({
      total_calls: calls,
      connected: summary.outcomes.connected,
      voicemail: summary.outcomes.voicemail,
      no_answer: summary.outcomes["no-answer"],
      failed: summary.outcomes.failed
    }))
    // The calls' streams hold exactly what the simulation saw appended.
    expect(onA.calls.reduce((sum, call) => sum + Number(call[4]) + 1, 0)).toBe(summary.eventsAppended)

    // B was fed the same log into its own file: the same calls, stats and transcripts.
    const onB = await eventually(async () => {
      const models = await readModels(b)
      return JSON.stringify(models) === JSON.stringify(onA) ? models : undefined
    }, "B's read models to match A's", 15_000)
    expect(onB).toEqual(onA)
    const answered = (expectStatus(await a.api.get("/v1/calls?outcome=connected&limit=1"), 200, "list").data as Array<Json>)[0]
    if (answered !== undefined) {
      const transcriptA = expectStatus(await a.api.get(`/v1/calls/${answered.id}/transcript`), 200, "transcript on A")
      expect(expectStatus(await b.api.get(`/v1/calls/${answered.id}/transcript`), 200, "transcript on B")).toEqual(transcriptA)
    }

    // Both instances know the simulation's endpoint and every delivery as delivered.
    const endpoints = expectStatus(await b.api.get("/v1/webhooks/endpoints"), 200, "endpoints on B").data as Array<Json>
    expect(endpoints).toHaveLength(1)
    for (const instance of [a, b]) {
      await eventually(async () => {
        const page = expectStatus(await instance.api.get(`/v1/webhooks/endpoints/${endpoints[0].id}/deliveries?limit=200`), 200, "deliveries")
        const rows = page.data as Array<Json>
        return rows.length === calls && rows.every((d) => d.status === "delivered") ? true : undefined
      }, `every delivery delivered on ${instance.name}`, 15_000)
    }

    // The log: call streams, one endpoint stream, one claim stream per delivery; the projections followed only the first two.
    const client = EventStoreDBClient.connectionString(server.connectionString)
    try {
      const all = await Effect.runPromise(makeEsdbEventStore(client).readAll())
      const streams = new Set(all.map((e) => e.streamId))
      expect([...streams].filter((s) => s.startsWith(webhookEndpointStreamPrefix))).toHaveLength(1)
      expect([...streams].filter((s) => s.startsWith(webhookDeliveryStreamPrefix))).toHaveLength(calls)
      expect([...streams].filter((s) => s.startsWith("call-"))).toHaveLength(calls)
      const claims = all.filter((e) => e.streamId.startsWith(webhookDeliveryStreamPrefix))
      expect(claims.filter((e) => e.type === "DeliveryCompleted")).toHaveLength(calls)
    } finally {
      await client.dispose()
    }
  }, 120_000)
})

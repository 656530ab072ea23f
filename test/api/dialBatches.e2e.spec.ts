/**
 * `POST /v1/calls/batch` and `GET /v1/calls/batch/{id}` (seed 004) with `LEDGER_DIALER=none`: the
 * numbers are recorded and handed to the dialer in order at the configured pace (here one call per
 * 300 ms), the status reports queued/initiated/failed per number, and a restart on the same file
 * dials the numbers still queued.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectStatus, getCall, placeCall, reportOk, twilioLifecycle } from "../fixtures/callDriver.js"
import type { Json, LedgerClient } from "../fixtures/ledgerClient.js"
import { ledgerClient } from "../fixtures/ledgerClient.js"
import { eventually, startLedgerServer, tempFolder, testTwilioAuthToken } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"
import { expectError, expectWritesNothing } from "../fixtures/writesNothing.js"
import { join } from "node:path"

const paceMillis = 300

let server: LedgerServer
let api: LedgerClient

beforeAll(async () => {
  server = await startLedgerServer({ settings: { dialer: { kind: "none", callsPerInterval: 1, intervalMillis: paceMillis } } })
  api = ledgerClient(server.url, testTwilioAuthToken)
})
afterAll(() => server?.stop())

const batchStatus = async (client: LedgerClient, batchId: string): Promise<Json> =>
  expectStatus(await client.get(`/v1/calls/batch/${batchId}`), 200, "batch status")

const finished = (client: LedgerClient, batchId: string, timeoutMillis = 10_000): Promise<Json> =>
  eventually(async () => {
    const status = await batchStatus(client, batchId)
    return status.status === "completed" ? status : undefined
  }, `batch ${batchId} to finish`, timeoutMillis)

describe("POST /v1/calls/batch", () => {
  it("dials seed 004's three numbers in order, one per interval, and reports each", async () => {
    const body = { to_numbers: ["+15551111111", "+15552222222", "+15553333333"], from_number: "+15559876543", agent_id: "550e8400-e29b-41d4-a716-446655440000" }
    const response = await api.post("/v1/calls/batch", body)
    expect(response.status, response.text).toBe(202)
    expect(response.body).toEqual({ batch_id: expect.stringMatching(/^batch_[0-9a-f]{32}$/), total: 3, status: "queued" })
    const batchId = response.body.batch_id

    const early = await batchStatus(api, batchId)
    expect(early.total).toBe(3)
    expect(early.queued).toBeGreaterThanOrEqual(1)
    expect(early.calls.map((c: Json) => c.to_number)).toEqual(body.to_numbers)

    const done = await finished(api, batchId)
    expect(done).toEqual({
      batch_id: batchId, status: "completed", total: 3, queued: 0, initiated: 3, failed: 0, created_at: expect.any(String),
      calls: body.to_numbers.map((to) => ({ to_number: to, status: "initiated", call_id: expect.stringMatching(/^cal_/), call_sid: null, error: null }))
    })
    const calls = await Promise.all(done.calls.map((c: Json) => getCall(api, c.call_id)))
    for (const [i, call] of calls.entries()) {
      expect(call).toEqual(expect.objectContaining({
        to_number: body.to_numbers[i], from_number: "+15559876543", agent_id: body.agent_id, direction: "outbound", status: "queued"
      }))
    }
    // The pace: each call started (was recorded and dialed) at least one interval after the one before.
    const starts = calls.map((c) => Date.parse(c.started_at))
    for (let i = 1; i < starts.length; i++) {
      expect(starts[i]! - starts[i - 1]!, `call ${i} started ${starts[i]! - starts[i - 1]!} ms after call ${i - 1}`)
        .toBeGreaterThanOrEqual(paceMillis - 15)
    }
    expect(starts[2]! - starts[0]!).toBeLessThan(paceMillis * 2 + 1_000)
  })

  it("a number on the do-not-call list fails with the reason and gets no call; the others are dialed", async () => {
    const call = await placeCall(api, { phone: "+15554444444", name: "Opted Out" })
    await twilioLifecycle(api, call.id, "connected", 10)
    await reportOk(api, call.id, { type: "dispositioned", disposition: "dnd" })

    const accepted = expectStatus(await api.post("/v1/calls/batch", { to_numbers: ["+15554444444", "+15555555555"], campaign_id: "cmp_batch_dnc" }), 202, "batch")
    const done = await finished(api, accepted.batch_id)
    expect(done).toEqual(expect.objectContaining({ initiated: 1, failed: 1 }))
    expect(done.calls[0]).toEqual({ to_number: "+15554444444", status: "failed", call_id: null, call_sid: null, error: "the number is on the do-not-call list" })
    expect(done.calls[1]).toEqual(expect.objectContaining({ to_number: "+15555555555", status: "initiated" }))
    expect(expectStatus(await api.get("/v1/calls?campaign_id=cmp_batch_dnc"), 200, "list").total).toBe(1)
  })

  it("the same Idempotency-Key answers the same batch and queues nothing twice", async () => {
    const body = { to_numbers: ["+15556666661"], campaign_id: "cmp_batch_idem" }
    const first = expectStatus(await api.post("/v1/calls/batch", body, { "Idempotency-Key": "batch-idem-1" }), 202, "batch")
    const again = expectStatus(await api.post("/v1/calls/batch", body, { "Idempotency-Key": "batch-idem-1" }), 202, "batch again")
    expect(again).toEqual(first)
    await finished(api, first.batch_id)
    expect(expectStatus(await api.get("/v1/calls?campaign_id=cmp_batch_idem"), 200, "list").total).toBe(1)
  })

  it("400 naming the field for a bad number, no numbers or an unknown field; 404 for an unknown batch; nothing written", async () => {
    for (const [field, body] of [
      ["to_numbers", { to_numbers: ["+15551111111", "5552222222"] }],
      ["to_numbers", { to_numbers: [] }],
      ["to_numbers", {}],
      ["from_number", { to_numbers: ["+15551111111"], from_number: "555" }],
      ["callback_url", { to_numbers: ["+15551111111"], callback_url: "https://example.com" }]
    ] as const) {
      const response = await expectWritesNothing(api, () => api.post("/v1/calls/batch", body))
      expect(response.status, response.text).toBe(400)
      const named = [response.body.field, ...(response.body.issues ?? []).map((i: { path: Array<unknown> }) => String(i.path[0]))]
      expect(named, response.text).toContain(field)
    }
    const invalid = await api.post("/v1/calls/batch", { to_numbers: ["+15551111111", "5552222222"] })
    expect(invalid.body.issues.map((i: { path: Array<unknown> }) => i.path)).toContainEqual(["to_numbers", 1])

    const unknown = await api.get("/v1/calls/batch/batch_unknown")
    expectError(unknown, 404, "BatchNotFound")
    expect(unknown.body.batch_id).toBe("batch_unknown")
  })
})

describe("a restart", () => {
  it("dials the numbers still queued, each once", async () => {
    const folder = tempFolder("call-ledger-batch-restart-")
    const databasePath = join(folder.path, "ledger.db")
    try {
      const slow = await startLedgerServer({ databasePath, settings: { dialer: { kind: "none", callsPerInterval: 1, intervalMillis: 60_000 } } })
      const slowApi = ledgerClient(slow.url, testTwilioAuthToken)
      let batchId = ""
      try {
        const accepted = expectStatus(
          await slowApi.post("/v1/calls/batch", { to_numbers: ["+15557777771", "+15557777772", "+15557777773"], campaign_id: "cmp_restart" }),
          202,
          "batch"
        )
        batchId = accepted.batch_id
        const first = await eventually(async () => {
          const status = await batchStatus(slowApi, batchId)
          return status.initiated === 1 ? status : undefined
        }, "the first number to be dialed")
        expect(first).toEqual(expect.objectContaining({ status: "in_progress", queued: 2, initiated: 1 }))
      } finally {
        await slow.stop()
      }

      const fast = await startLedgerServer({ databasePath, settings: { dialer: { kind: "none", callsPerInterval: 1, intervalMillis: 50 } } })
      try {
        const fastApi = ledgerClient(fast.url, testTwilioAuthToken)
        const done = await finished(fastApi, batchId)
        expect(done).toEqual(expect.objectContaining({ total: 3, queued: 0, initiated: 3, failed: 0 }))
        const listed = expectStatus(await fastApi.get("/v1/calls?campaign_id=cmp_restart"), 200, "list")
        expect(listed.total).toBe(3)
        expect(new Set(listed.data.map((c: Json) => c.to_number))).toEqual(new Set(["+15557777771", "+15557777772", "+15557777773"]))
      } finally {
        await fast.stop()
      }
    } finally {
      folder.remove()
    }
  })
})

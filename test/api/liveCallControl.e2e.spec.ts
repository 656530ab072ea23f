/**
 * Seed 002's workflow actions over real HTTP: metadata write-back, agent availability, transfer
 * (409 when the call is not active, 503 when the queue has no agent free) and end (with the
 * do-not-call list for `dnc_request`). Agent queues come from the settings: one agent in
 * `sales_specialist`, none in `support_team`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectStatus, getCall, isIsoInstant, placeCall, reportOk, twilioLifecycle, twilioOk } from "../fixtures/callDriver.js"
import type { ApiResponse, Json, LedgerClient } from "../fixtures/ledgerClient.js"
import { ledgerClient, newCallSid, twilioStatus } from "../fixtures/ledgerClient.js"
import { startLedgerServer, testTwilioAuthToken } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"
import { expectError, expectWritesNothing } from "../fixtures/writesNothing.js"

let server: LedgerServer
let api: LedgerClient

beforeAll(async () => {
  server = await startLedgerServer({ settings: { agentQueues: { sales_specialist: { agents: 1 }, support_team: { agents: 0 } } } })
  api = ledgerClient(server.url, testTwilioAuthToken)
})
afterAll(() => server?.stop())

let phoneCounter = 0
const nextPhone = () => `+91987650${String(1000 + ++phoneCounter)}`

/** A placed call that telephony reports answered (in progress). */
const liveCall = async (): Promise<Json> => {
  const call = await placeCall(api, { to: nextPhone(), campaign_id: "flw_f1g2h3", contact_name: "Priya Kumar" })
  const sid = newCallSid()
  await twilioOk(api, twilioStatus(sid, "initiated", 0), call.id)
  await twilioOk(api, twilioStatus(sid, "in-progress", 1, { AnsweredBy: "human" }), call.id)
  return call
}

const seedTransfer = {
  target: "sales_specialist",
  agent_brief: "Standing Desk Pro, $850, ready to buy, needs delivery within 3 days.",
  context: { intent_score: 88, cart_value: 850 }
}

const namesField = (response: ApiResponse, field: string) => {
  expect(response.status, response.text).toBe(400)
  const named = [response.body.field, ...(response.body.issues ?? []).map((i: { path: Array<unknown> }) => String(i.path[0]))]
  expect(named, response.text).toContain(field)
}

describe("POST /v1/calls/{id}/metadata", () => {
  it("merges key_details (seed 002's body), live or ended; a retry with its Idempotency-Key answers the same", async () => {
    const call = await liveCall()
    const extraction = {
      key_details: {
        extraction: {
          outcome: { call_outcome: "warm_transfer", intent_score: 88 },
          disposition: { lead_stage: "Interested in Buying" },
          next_action: { type: "warm_transfer", transfer_target: "sales_specialist" }
        }
      }
    }
    const first = expectStatus(await api.post(`/v1/calls/${call.id}/metadata`, extraction, { "Idempotency-Key": `meta-${call.id}` }), 200, "metadata")
    expect(first.appended).toEqual(["CallMetadataMerged"])
    const retry = await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/metadata`, extraction, { "Idempotency-Key": `meta-${call.id}` }))
    expect(retry.body).toEqual(first)

    await reportOk(api, call.id, { type: "ended", reason: "workflow_close" })
    const scores = expectStatus(await api.post(`/v1/calls/${call.id}/metadata`, { key_details: { qms_scores: { opening: 3, energy: 2, probing: 3 } } }), 200, "metadata")
    expect(scores.call.key_details).toEqual({ ...extraction.key_details, qms_scores: { opening: 3, energy: 2, probing: 3 } })
    expect((await getCall(api, call.id)).key_details).toEqual(scores.call.key_details)
  })

  it("404 for an unknown call; 400 naming key_details for a bad body; nothing written", async () => {
    expectError(await expectWritesNothing(api, () => api.post("/v1/calls/cal_unknown/metadata", { key_details: {} })), 404, "CallNotFound")
    const call = await liveCall()
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/metadata`, { key_details: "x" }), call.id), "key_details")
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/metadata`, {}), call.id), "key_details")
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/metadata`, { key_details: {}, extra: 1 }), call.id), "extra")
  })
})

describe("GET /v1/calls/agent-availability and POST /v1/calls/{id}/transfer", () => {
  it("a transfer takes the queue's free agent, and its end gives it back (seed 002's bodies)", async () => {
    const before = expectStatus(await api.get("/v1/calls/agent-availability?target=sales_specialist"), 200, "availability")
    expect(before).toEqual({ target: "sales_specialist", available: true, queue_depth: 0, agents: 1, checked_at: expect.any(String) })
    expect(isIsoInstant(before.checked_at)).toBe(true)

    const call = await liveCall()
    const transferred = expectStatus(await api.post(`/v1/calls/${call.id}/transfer`, seedTransfer), 200, "transfer")
    expect(transferred.appended).toEqual(["CallTransferred"])
    expect(transferred.call.transfer).toEqual({
      target: "sales_specialist", agent_brief: seedTransfer.agent_brief, context: seedTransfer.context, at: expect.any(String)
    })
    expect(transferred.call.status).toBe("in_progress")
    expect(expectStatus(await api.get("/v1/calls/agent-availability?target=sales_specialist"), 200, "availability"))
      .toEqual(expect.objectContaining({ available: false, queue_depth: 1 }))

    // The queue is full: 503, nothing written.
    const other = await liveCall()
    const busy = await expectWritesNothing(api, () => api.post(`/v1/calls/${other.id}/transfer`, seedTransfer), other.id)
    expectError(busy, 503, "AgentUnavailable")
    expect(busy.body).toEqual(expect.objectContaining({ target: "sales_specialist", queue_depth: 1 }))

    // The transferred call ends: its agent is free again.
    expectStatus(await api.post(`/v1/calls/${call.id}/end`, { reason: "workflow_close" }), 200, "end")
    expect(expectStatus(await api.get("/v1/calls/agent-availability?target=sales_specialist"), 200, "availability"))
      .toEqual(expect.objectContaining({ available: true, queue_depth: 0 }))
    expectStatus(await api.post(`/v1/calls/${other.id}/transfer`, seedTransfer), 200, "transfer after the agent is free")
    await api.post(`/v1/calls/${other.id}/end`, { reason: "workflow_close" })
  })

  it("a queue without agents: available false and a 503", async () => {
    expect(expectStatus(await api.get("/v1/calls/agent-availability?target=support_team"), 200, "availability"))
      .toEqual(expect.objectContaining({ target: "support_team", available: false, queue_depth: 0, agents: 0 }))
    const call = await liveCall()
    expectError(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/transfer`, { target: "support_team" }), call.id), 503, "AgentUnavailable")
  })

  it("409 when the call is not active: queued, ended, or already transferred; nothing written", async () => {
    const queued = await placeCall(api, { to: nextPhone(), contact_name: "Queued" })
    const notActive = await expectWritesNothing(api, () => api.post(`/v1/calls/${queued.id}/transfer`, seedTransfer), queued.id)
    expectError(notActive, 409, "CallConflict")
    expect(notActive.body.rule).toBe("CallNotActive")

    const ended = await placeCall(api, { to: nextPhone(), contact_name: "Ended" })
    await twilioLifecycle(api, ended.id, "connected", 30)
    expectError(await expectWritesNothing(api, () => api.post(`/v1/calls/${ended.id}/transfer`, seedTransfer), ended.id), 409, "CallConflict")

    const twice = await liveCall()
    expectStatus(await api.post(`/v1/calls/${twice.id}/transfer`, { target: "sales_specialist" }), 200, "transfer")
    const again = await expectWritesNothing(api, () => api.post(`/v1/calls/${twice.id}/transfer`, { target: "sales_specialist" }), twice.id)
    expectError(again, 409, "CallConflict")
    await api.post(`/v1/calls/${twice.id}/end`, { reason: "workflow_close" })
  })

  it("unknown call 404, unknown queue 400 (target) / 404 on availability, brief over 280 characters 400; nothing written", async () => {
    expectError(await expectWritesNothing(api, () => api.post("/v1/calls/cal_unknown/transfer", seedTransfer)), 404, "CallNotFound")
    const call = await liveCall()
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/transfer`, { target: "billing" }), call.id), "target")
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/transfer`, { ...seedTransfer, agent_brief: "x".repeat(281) }), call.id), "agent_brief")
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/transfer`, { agent_brief: "no target" }), call.id), "target")
    expectStatus(await api.post(`/v1/calls/${call.id}/transfer`, { ...seedTransfer, agent_brief: "x".repeat(280) }), 200, "280 characters")
    await api.post(`/v1/calls/${call.id}/end`, { reason: "workflow_close" })

    const unknownQueue = await api.get("/v1/calls/agent-availability?target=billing")
    expectError(unknownQueue, 404, "AgentQueueNotFound")
    expect(unknownQueue.body.queues).toEqual(["sales_specialist", "support_team"])
    namesField(await api.get("/v1/calls/agent-availability"), "target")
    namesField(await api.get("/v1/calls/agent-availability?target=sales_specialist&queue=1"), "queue")
  })
})

describe("POST /v1/calls/{id}/end", () => {
  it("ends a call with the workflow's reason: completed when answered, canceled when not", async () => {
    const answered = await liveCall()
    const ended = expectStatus(await api.post(`/v1/calls/${answered.id}/end`, { reason: "hostile_caller" }), 200, "end")
    expect(ended.appended).toEqual(["CallEnded"])
    expect(ended.call).toEqual(expect.objectContaining({ status: "completed", disconnection_reason: "hostile_caller", ended_at: expect.any(String) }))

    const ringing = await placeCall(api, { to: nextPhone(), contact_name: "Wrong Person" })
    await twilioOk(api, twilioStatus(newCallSid(), "ringing", 1), ringing.id)
    const wrong = expectStatus(await api.post(`/v1/calls/${ringing.id}/end`, { reason: "wrong_number" }), 200, "end")
    expect(wrong.call).toEqual(expect.objectContaining({ status: "canceled", disconnection_reason: "wrong_number", duration_seconds: 0 }))
  })

  it("dnc_request puts the number on the do-not-call list: the next POST /v1/calls to it is refused", async () => {
    const call = await liveCall()
    expectStatus(await api.post(`/v1/calls/${call.id}/end`, { reason: "dnc_request" }), 200, "end")
    const again = await api.post("/v1/calls", { to: call.to_number, contact_name: "Again" })
    expectError(again, 422, "DoNotCall")
  })

  it("409 once ended; 404 unknown call; 400 for a reason not in seed 002's list; nothing written", async () => {
    const call = await liveCall()
    expectStatus(await api.post(`/v1/calls/${call.id}/end`, { reason: "workflow_close" }), 200, "end")
    const twice = await expectWritesNothing(api, () => api.post(`/v1/calls/${call.id}/end`, { reason: "workflow_close" }), call.id)
    expectError(twice, 409, "CallConflict")
    expect(twice.body.rule).toBe("CallAlreadyEnded")

    expectError(await expectWritesNothing(api, () => api.post("/v1/calls/cal_unknown/end", { reason: "wrong_number" })), 404, "CallNotFound")
    const live = await liveCall()
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${live.id}/end`, { reason: "user_hangup" }), live.id), "reason")
    namesField(await expectWritesNothing(api, () => api.post(`/v1/calls/${live.id}/end`, {}), live.id), "reason")
  })
})

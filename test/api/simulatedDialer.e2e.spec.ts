/**
 * `LEDGER_DIALER=simulated`: every call `POST /v1/calls` or `POST /v1/calls/batch` records is
 * dialed by the built-in dialer, which plays a realistic lifecycle through the ledger's write path
 * (initiated, ringing, answered or not, transcript, disposition, end, recording, metrics). The
 * outcome follows the number's last digit; steps are 60 ms apart here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { expectStatus, getCall, placeCall } from "../fixtures/callDriver.js"
import type { Json, LedgerClient } from "../fixtures/ledgerClient.js"
import { ledgerClient } from "../fixtures/ledgerClient.js"
import { eventually, startLedgerServer, testTwilioAuthToken } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"

let server: LedgerServer
let api: LedgerClient

beforeAll(async () => {
  server = await startLedgerServer({
    settings: { dialer: { kind: "simulated", simulatedStepMillis: 60, intervalMillis: 20, callsPerInterval: 1 } }
  })
  api = ledgerClient(server.url, testTwilioAuthToken)
})
afterAll(() => server?.stop())

const endedCall = (callId: string): Promise<Json> =>
  eventually(async () => {
    const call = await getCall(api, callId)
    return call.ended_at !== null ? call : undefined
  }, `call ${callId} to end`, 10_000)

const eventTypes = async (callId: string): Promise<Array<string>> =>
  expectStatus(await api.get(`/v1/calls/${callId}/events`), 200, "events").events.map((e: { type: string }) => e.type)

describe("the simulated dialer", () => {
  it("a person answers (last digit 0-5): the whole lifecycle lands in the ledger, in order", async () => {
    const created = await placeCall(api, { phone: "+919876543211", name: "Priya Sharma", language: "en-IN", campaign_id: "cmp_sim" })
    expect(created.status).toBe("queued")

    const call = await endedCall(created.id)
    // The recording and metrics follow the end.
    await eventually(async () => ((await getCall(api, created.id)).cost !== null ? true : undefined), "metrics", 5_000)
    expect(await eventTypes(created.id)).toEqual([
      "CallDialed", "CallInitiated", "CallRinging", "CallAnswered", "CallTranscribed", "CallTranscribed",
      "CallDispositioned", "CallEnded", "CallRecordingAttached", "CallMetricsRecorded"
    ])
    const final = await getCall(api, created.id)
    expect(final).toEqual(expect.objectContaining({
      status: "completed",
      outcome: "connected",
      disconnection_reason: "user_hangup",
      call_sid: expect.stringMatching(/^CA[0-9a-f]{32}$/),
      disposition: expect.stringMatching(/^(interested|callback|not_interested|escalated)$/),
      sentiment: expect.any(String),
      summary: expect.any(String),
      transcript_job_id: expect.stringMatching(/^job_/),
      recording_url: expect.stringContaining(`/v1/calls/${created.id}/recording?`),
      provider_usage: expect.objectContaining({ openai: { type: "llm", model: "gpt-4o" } })
    }))
    expect(Date.parse(call.ended_at)).toBeGreaterThanOrEqual(Date.parse(call.answered_at))
    const transcript = expectStatus(await api.get(`/v1/calls/${created.id}/transcript`), 200, "transcript")
    expect(transcript.status).toBe("completed")
    expect(transcript.transcript[0].text).toContain("Priya Sharma")
    expect(transcript.language).toBe("en-IN")

    const redirect = await fetch(final.recording_url, { redirect: "manual" })
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get("location")).toMatch(/^https:\/\/simulated-dialer\.invalid\/recordings\/CA[0-9a-f]{32}\.mp3$/)
  })

  it("an answering machine (6), no answer (7), busy (8), a refused number (9)", async () => {
    const [voicemail, noAnswer, busy, refused] = await Promise.all(
      ["+15550100006", "+15550100007", "+15550100008", "+15550100009"].map((to) => placeCall(api, { to, contact_name: "Lead" }))
    )
    expect(await endedCall(voicemail.id)).toEqual(expect.objectContaining({ status: "completed", outcome: "voicemail", disposition: "not_reachable" }))
    expect(await endedCall(noAnswer.id)).toEqual(expect.objectContaining({
      status: "no_answer", outcome: "no-answer", duration_seconds: 0, disconnection_reason: "dial_no_answer"
    }))
    expect(await endedCall(busy.id)).toEqual(expect.objectContaining({ status: "busy", disconnection_reason: "dial_busy" }))
    expect(await endedCall(refused.id)).toEqual(expect.objectContaining({
      status: "failed", outcome: "failed", disconnection_reason: "dial_failed", error_reason: "Invalid number", call_sid: null
    }))
    expect(await eventTypes(noAnswer.id)).toEqual(["CallDialed", "CallInitiated", "CallRinging", "CallEnded"])
    expect(await eventTypes(refused.id)).toEqual(["CallDialed", "CallEnded"])
  })

  it("a workflow's end hangs up: the simulated lifecycle stops there", async () => {
    const created = await placeCall(api, { phone: "+919876543212", name: "Hostile" })
    await eventually(async () => ((await getCall(api, created.id)).status === "in_progress" ? true : undefined), "answer", 5_000, 10)
    expectStatus(await api.post(`/v1/calls/${created.id}/end`, { reason: "hostile_caller" }), 200, "end")
    await new Promise((resolve) => setTimeout(resolve, 500))
    const types = await eventTypes(created.id)
    expect(types.at(-1)).toBe("CallEnded")
    expect(types.filter((t) => t === "CallEnded")).toHaveLength(1)
    expect(types).not.toContain("CallRecordingAttached")
    expect((await getCall(api, created.id)).disconnection_reason).toBe("hostile_caller")
  })

  it("a batch (seed 004) through the simulated dialer: initiated with a CallSid, or failed with the reason", async () => {
    const accepted = expectStatus(
      await api.post("/v1/calls/batch", { to_numbers: ["+15551111111", "+15552222227", "+15553333339"], from_number: "+15559876543" }),
      202,
      "batch"
    )
    expect(accepted).toEqual({ batch_id: expect.stringMatching(/^batch_/), total: 3, status: "queued" })
    const status = await eventually(async () => {
      const batch = expectStatus(await api.get(`/v1/calls/batch/${accepted.batch_id}`), 200, "batch status")
      return batch.status === "completed" ? batch : undefined
    }, "the batch to finish", 5_000)
    expect(status).toEqual(expect.objectContaining({ batch_id: accepted.batch_id, total: 3, queued: 0, initiated: 2, failed: 1 }))
    expect(status.calls).toEqual([
      { to_number: "+15551111111", status: "initiated", call_id: expect.any(String), call_sid: expect.stringMatching(/^CA/), error: null },
      { to_number: "+15552222227", status: "initiated", call_id: expect.any(String), call_sid: expect.stringMatching(/^CA/), error: null },
      { to_number: "+15553333339", status: "failed", call_id: expect.any(String), call_sid: null, error: "Invalid number" }
    ])
    const first = await endedCall(status.calls[0].call_id)
    expect(first).toEqual(expect.objectContaining({ from_number: "+15559876543", to_number: "+15551111111", call_sid: status.calls[0].call_sid }))
  })

  it("a call placed alone and a batch's call record the same dial: the dialer as provider, the same fields", async () => {
    const details = { from_number: "+15559876543", campaign_id: "cmp_same", agent_id: "agt_same", language: "hi-IN", metadata: { lead: 7 } }
    const single = await placeCall(api, { phone: "+15554444441", ...details })
    const { batch_id } = expectStatus(await api.post("/v1/calls/batch", { to_numbers: ["+15554444441"], ...details }), 202, "batch")
    const batchCall = await eventually(async () => {
      const batch = expectStatus(await api.get(`/v1/calls/batch/${batch_id}`), 200, "batch status")
      return batch.status === "completed" ? batch.calls[0].call_id as string : undefined
    }, "the batch to finish", 5_000)
    const dialed = async (callId: string) => {
      const history = expectStatus(await api.get(`/v1/calls/${callId}/events`), 200, "events")
      const { callId: _id, at: _at, ...data } = history.events.find((e: Json) => e.type === "CallDialed").data
      return data
    }
    const alone = await dialed(single.id)
    expect(alone).toMatchObject({ provider: "simulated", campaignId: "cmp_same", agentId: "agt_same", language: "hi-IN", from: "+15559876543" })
    expect(await dialed(batchCall)).toEqual(alone)
  })
})

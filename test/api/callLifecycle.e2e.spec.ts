/**
 * A whole call, as telephony and the agent pipeline report it, checking the call view (and the
 * live list, and the transcript) after each step: dial, Twilio initiated / ringing / in-progress,
 * transcript, disposition, transfer, metrics, Twilio completed with CallDuration, recording; and a
 * call the agent ends itself (`ended`), whose later Twilio `completed` changes nothing.
 */
import { describe, expect, it } from "vitest"
import { expectStatus, getCall, isIsoInstant, placeCall, reportOk, seed001Segments, twilioOk } from "../fixtures/callDriver.js"
import type { Json } from "../fixtures/ledgerClient.js"
import { newCallSid, twilioStatus } from "../fixtures/ledgerClient.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"

const { api, server } = serviceForSpecFile()

const liveIds = async (): Promise<Array<string>> => {
  const live = expectStatus(await api.get("/v1/calls/live"), 200, "live")
  expect(live.total).toBe(live.data.length)
  return live.data.map((c: Json) => c.id)
}

/** The instant `seconds` after `base`, as Twilio's RFC 2822 `Timestamp`. */
const at = (base: number, seconds: number) => new Date(base + seconds * 1000).toUTCString()

describe("a call's whole lifecycle", () => {
  it("dial, Twilio callbacks and agent reports each show in the call view", async () => {
    const created = await placeCall(api, {
      phone: "+919876543210",
      name: "Priya Sharma",
      script_id: "scr_loan_renewal",
      language: "hi-IN",
      campaign_id: "cmp_lifecycle",
      agent_id: "agt_aria",
      from_number: "+15550010000"
    })
    const id: string = created.id
    // Telephony reports what follows the dial: the ledger moves anything stamped earlier up to the dial.
    const base = Date.parse(created.started_at) + 1000
    expect(created).toEqual(expect.objectContaining({
      status: "queued", direction: "outbound", call_type: "telephony_outbound", call_sid: null,
      answered_at: null, ended_at: null, duration_seconds: 0, outcome: null, revision: 0
    }))
    expect(await liveIds()).toContain(id)

    const sid = newCallSid()
    const initiated = await twilioOk(api, twilioStatus(sid, "initiated", 0, { Timestamp: at(base, 0) }), id)
    expect(initiated).toEqual({ call_id: id, appended: ["CallInitiated"] })
    expect(await getCall(api, id)).toEqual(expect.objectContaining({ status: "initiated", call_sid: sid, revision: 1 }))

    expect((await twilioOk(api, twilioStatus(sid, "ringing", 1, { Timestamp: at(base, 2) }), id)).appended).toEqual(["CallRinging"])
    expect(await getCall(api, id)).toEqual(expect.objectContaining({ status: "ringing", answered_at: null, revision: 2 }))

    expect((await twilioOk(api, twilioStatus(sid, "in-progress", 2, { Timestamp: at(base, 8), AnsweredBy: "human" }), id)).appended)
      .toEqual(["CallAnswered"])
    const answered = await getCall(api, id)
    expect(answered).toEqual(expect.objectContaining({ status: "in_progress", ended_at: null, revision: 3 }))
    expect(Date.parse(answered.answered_at)).toBe(Date.parse(at(base, 8)))
    expect(await liveIds()).toContain(id)

    const transcribed = await reportOk(api, id, {
      type: "transcribed", segments: seed001Segments, language: "hi-IN", final: true, job_id: "job_2Kn7wR4pM",
      occurred_at: new Date(base + 140_000).toISOString()
    })
    expect(transcribed.appended).toEqual(["CallTranscribed"])
    expect(transcribed.call).toEqual(expect.objectContaining({ transcript_job_id: "job_2Kn7wR4pM", revision: 4 }))
    expect(await getCall(api, id)).toEqual(transcribed.call)
    const transcript = expectStatus(await api.get(`/v1/calls/${id}/transcript`), 200, "transcript")
    expect(transcript.status).toBe("completed")
    expect(transcript.transcript).toHaveLength(4)

    const dispositioned = await reportOk(api, id, {
      type: "dispositioned", disposition: "escalated", outcome: "connected", sentiment: "positive",
      sentiment_score: { overall: 0.42, by_speaker: { agent: 0.65, customer: 0.38 } },
      summary: "Customer wants loan renewal; escalated.", key_details: { extraction: { intent_score: 88 } }
    })
    expect(dispositioned.appended).toEqual(["CallDispositioned"])
    expect(await getCall(api, id)).toEqual(expect.objectContaining({
      disposition: "escalated", sentiment: "positive", summary: "Customer wants loan renewal; escalated.",
      sentiment_score: { overall: 0.42, by_speaker: { agent: 0.65, customer: 0.38 } },
      key_details: { extraction: { intent_score: 88 } }, status: "in_progress", revision: 5
    }))

    const transferred = await reportOk(api, id, {
      type: "transferred", target: "sales_specialist", agent_brief: "Loan renewal, ready to proceed.", context: { intent_score: 88 }
    })
    expect(transferred.appended).toEqual(["CallTransferred"])
    expect((await getCall(api, id)).transfer).toEqual(expect.objectContaining({
      target: "sales_specialist", agent_brief: "Loan renewal, ready to proceed.", context: { intent_score: 88 }
    }))

    await reportOk(api, id, {
      type: "metrics", cost: 2.84,
      latency: { transcriber_ms: 120, agent_ms: 450, synthesizer_ms: 180 },
      provider_usage: { deepgram: { type: "stt", model: "nova-2" } }
    })
    expect(await getCall(api, id)).toEqual(expect.objectContaining({
      cost: 2.84,
      latency: { average_transcriber_latency: 120, average_agent_latency: 450, average_synthesizer_latency: 180 },
      provider_usage: { deepgram: { type: "stt", model: "nova-2" } },
      revision: 7
    }))

    const completed = await twilioOk(api, twilioStatus(sid, "completed", 3, { Timestamp: at(base, 150), CallDuration: "142" }), id)
    expect(completed.appended).toEqual(["CallEnded"])
    const ended = await getCall(api, id)
    expect(ended).toEqual(expect.objectContaining({
      status: "completed", outcome: "connected", duration_seconds: 142, disposition: "escalated", revision: 8, recording_url: null
    }))
    expect(isIsoInstant(ended.ended_at)).toBe(true)
    expect(Date.parse(ended.ended_at)).toBe(Date.parse(at(base, 150)))
    expect(await liveIds()).not.toContain(id)

    const recorded = await reportOk(api, id, {
      type: "recording", recording_url: "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1.mp3", duration_seconds: 142
    })
    expect(recorded.appended).toEqual(["CallRecordingAttached"])
    expect((await getCall(api, id)).recording_url).toMatch(new RegExp(`^${server().url}/v1/calls/${id}/recording\\?`))

    const listed = expectStatus(await api.get("/v1/calls?campaign_id=cmp_lifecycle&status=completed&disposition=escalated"), 200, "list")
    expect(listed.data.map((c: Json) => c.id)).toEqual([id])
  })

  it("an agent-ended call: answered and ended by reports; Twilio's later completed appends nothing", async () => {
    const created = await placeCall(api, { to: "+918888888888", campaign_id: "cmp_agent_end", contact_name: "Priya Kumar" })
    const id: string = created.id
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)

    const answered = await reportOk(api, id, { type: "answered", answered_by: "human" })
    expect(answered.appended).toEqual(["CallAnswered"])
    expect(answered.call).toEqual(expect.objectContaining({ status: "in_progress" }))
    expect(answered.call.answered_at).not.toBeNull()
    // Twilio's own in-progress, late relative to the agent's report, adds nothing.
    expect((await twilioOk(api, twilioStatus(sid, "in-progress", 2, { AnsweredBy: "human" }), id)).appended).toEqual([])

    await reportOk(api, id, { type: "metadata", key_details: { extraction: { outcome: { call_outcome: "dnc" } } } })
    expect((await getCall(api, id)).key_details).toEqual({ extraction: { outcome: { call_outcome: "dnc" } } })

    const ended = await reportOk(api, id, { type: "ended", reason: "dnc_request", duration_seconds: 37 })
    expect(ended.appended).toEqual(["CallEnded"])
    expect(ended.call).toEqual(expect.objectContaining({
      status: "completed", outcome: "connected", disconnection_reason: "dnc_request", duration_seconds: 37
    }))
    const revision = ended.call.revision
    const position = await api.position()

    const late = await twilioOk(api, twilioStatus(sid, "completed", 3, { CallDuration: "40" }), id)
    expect(late.appended).toEqual([])
    expect(await getCall(api, id)).toEqual(expect.objectContaining({ revision, duration_seconds: 37, disconnection_reason: "dnc_request" }))
    expect(await api.position()).toBe(position)
    expect(await liveIds()).not.toContain(id)
  })
})

/**
 * The seeds' curl examples, with the host and `/v1` of this service, answer with the documented
 * shapes: seed 001 (list, details, initiate, transcript), seed 002 (initiate body, stats) and
 * seed 004 (initiate body). Real HTTP against the real service.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { CallStatsResponse } from "../../src/api/callResponses.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { expectStatus, getCall, isIsoInstant, placeCall, reportOk, seed001Segments, twilioLifecycle } from "../fixtures/callDriver.js"
import type { Json } from "../fixtures/ledgerClient.js"

const { api, server } = serviceForSpecFile()

/** Seed 001's example body of `POST /calls`, exactly. */
const seed001CreateBody = {
  phone: "+919876543210",
  name: "Priya Sharma",
  script_id: "scr_appt_reminder",
  language: "en-IN",
  metadata: { appointment_date: "3rd February", doctor_name: "Dr. Kapoor", clinic: "Sunrise Health" }
}

const seed001Statuses = ["queued", "initiated", "ringing", "in_progress", "completed", "failed", "no_answer", "busy", "canceled"]
const seed001Dispositions = ["interested", "not_interested", "callback", "not_reachable", "dnd", "escalated"]

/** Seed 001's call record fields ("Get Call Details" → Response Fields), with their types. */
const expectSeed001Record = (call: Json) => {
  expect(call).toEqual(expect.objectContaining({
    id: expect.stringMatching(/^cal_[A-Za-z0-9_-]+$/),
    contact: expect.objectContaining({ phone: expect.stringMatching(/^\+[1-9]\d{7,14}$/) }),
    duration_seconds: expect.any(Number)
  }))
  for (const field of ["campaign_id", "disposition", "language", "ended_at", "transcript_job_id", "recording_url"]) {
    expect(call, `field ${field}`).toHaveProperty(field)
    expect(call[field] === null || typeof call[field] === "string", `${field} is a string or null`).toBe(true)
  }
  expect(call.contact).toHaveProperty("name")
  expect(seed001Statuses).toContain(call.status)
  if (call.disposition !== null) expect(seed001Dispositions).toContain(call.disposition)
  expect(Number.isInteger(call.duration_seconds) && call.duration_seconds >= 0).toBe(true)
  expect(isIsoInstant(call.started_at)).toBe(true)
  if (call.ended_at !== null) expect(isIsoInstant(call.ended_at)).toBe(true)
}

/** A completed, dispositioned call in `campaign`, through Twilio callbacks and agent reports; its id. */
const completedCall = async (
  campaign: string,
  options: { disposition: string; language?: string; duration?: number; sentiment?: string; outcome?: "connected" | "voicemail" }
): Promise<string> => {
  const created = await placeCall(api, { ...seed001CreateBody, name: "Priya Sharma", language: options.language ?? "hi-IN", campaign_id: campaign })
  await twilioLifecycle(api, created.id, options.outcome ?? "connected", options.duration ?? 142)
  await reportOk(api, created.id, {
    type: "dispositioned",
    disposition: options.disposition,
    sentiment: options.sentiment ?? "positive",
    summary: "Customer expressed interest in loan renewal and requested escalation to a human agent."
  })
  return created.id
}

describe("seed 001 (Neuron)", () => {
  it("GET /v1/calls?campaign_id=…&disposition=escalated&limit=25 pages {data,total,limit,offset} with only those calls", async () => {
    const escalated = await completedCall("cmp_4Rv8sT1wX", { disposition: "escalated" })
    await completedCall("cmp_4Rv8sT1wX", { disposition: "interested" })
    await placeCall(api, { ...seed001CreateBody, campaign_id: "cmp_4Rv8sT1wX" })
    await completedCall("cmp_otherCampaign", { disposition: "escalated" })

    const page = expectStatus(await api.get("/v1/calls?campaign_id=cmp_4Rv8sT1wX&disposition=escalated&limit=25"), 200, "list")
    expect(page).toEqual(expect.objectContaining({ total: 1, limit: 25, offset: 0 }))
    expect(page.data).toHaveLength(1)
    const [call] = page.data
    expectSeed001Record(call)
    expect(call).toEqual(expect.objectContaining({
      id: escalated,
      campaign_id: "cmp_4Rv8sT1wX",
      contact: expect.objectContaining({ phone: "+919876543210", name: "Priya Sharma" }),
      status: "completed",
      disposition: "escalated",
      duration_seconds: 142,
      language: "hi-IN"
    }))
    expect(Date.parse(call.ended_at) - Date.parse(call.started_at)).toBeGreaterThanOrEqual(142_000)

    const all = expectStatus(await api.get("/v1/calls?campaign_id=cmp_4Rv8sT1wX"), 200, "list campaign")
    expect(all).toEqual(expect.objectContaining({ total: 3, limit: 20, offset: 0 }))
  })

  it("GET /v1/calls/{id} is the record with transcript_job_id and a signed recording_url valid 1 hour", async () => {
    const created = await placeCall(api, { ...seed001CreateBody, language: "hi-IN", campaign_id: "cmp_details" })
    await twilioLifecycle(api, created.id, "connected", 142)
    await reportOk(api, created.id, { type: "transcribed", segments: seed001Segments, language: "hi-IN", final: true, job_id: "job_2Kn7wR4pM" })
    await reportOk(api, created.id, { type: "dispositioned", disposition: "escalated", sentiment: "positive" })
    await reportOk(api, created.id, { type: "recording", recording_url: "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0.mp3" })

    const before = Math.floor(Date.now() / 1000)
    const call = await getCall(api, created.id)
    expectSeed001Record(call)
    expect(call).toEqual(expect.objectContaining({
      id: created.id,
      campaign_id: "cmp_details",
      contact: expect.objectContaining({ phone: "+919876543210", name: "Priya Sharma" }),
      status: "completed",
      disposition: "escalated",
      duration_seconds: 142,
      language: "hi-IN",
      transcript_job_id: "job_2Kn7wR4pM"
    }))
    const url = new URL(call.recording_url)
    expect(`${url.origin}${url.pathname}`).toBe(`${server().url}/v1/calls/${created.id}/recording`)
    expect(url.searchParams.get("token")).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    const expires = Number(url.searchParams.get("expires"))
    expect(expires).toBeGreaterThanOrEqual(before + 3600 - 5)
    expect(expires).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600 + 5)

    // The signed URL leads to the recording; the same URL with another token does not.
    const followed = await fetch(call.recording_url, { redirect: "manual" })
    expect(followed.status).toBe(302)
    expect(followed.headers.get("location")).toBe("https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0.mp3")
    url.searchParams.set("token", "x".repeat(43))
    expect((await fetch(url, { redirect: "manual" })).status).toBe(403)
  })

  it("POST /v1/calls with seed 001's exact body is 201 and the record", async () => {
    const response = await api.post("/v1/calls", seed001CreateBody)
    const call = expectStatus(response, 201, "POST /v1/calls")
    expect(response.headers.get("content-type")).toMatch(/application\/json/)
    expectSeed001Record(call)
    expect(call).toEqual(expect.objectContaining({
      campaign_id: null,
      contact: expect.objectContaining({ phone: "+919876543210", name: "Priya Sharma" }),
      disposition: null,
      language: "en-IN",
      ended_at: null,
      transcript_job_id: null,
      recording_url: null,
      script_id: "scr_appt_reminder",
      metadata: seed001CreateBody.metadata
    }))
    expect(Math.abs(Date.parse(call.started_at) - Date.now())).toBeLessThan(60_000)
    expect(await getCall(api, call.id)).toEqual(call)
  })

  it("GET /v1/calls/{id}/transcript is {status: processing} until the final transcript, then seed 001's shape", async () => {
    const created = await placeCall(api, { ...seed001CreateBody, language: "hi-IN" })
    const processing = expectStatus(await api.get(`/v1/calls/${created.id}/transcript`), 200, "transcript")
    expect(processing.status).toBe("processing")
    expect(processing).not.toHaveProperty("transcript")

    await twilioLifecycle(api, created.id, "connected", 142)
    await reportOk(api, created.id, { type: "transcribed", segments: seed001Segments.slice(0, 2), language: "hi-IN", final: false, job_id: "job_2Kn7wR4pM" })
    const partial = expectStatus(await api.get(`/v1/calls/${created.id}/transcript`), 200, "transcript")
    expect(partial.status).toBe("processing")
    expect(partial).not.toHaveProperty("transcript")

    await reportOk(api, created.id, { type: "transcribed", segments: seed001Segments.slice(2), language: "hi-IN", final: true, job_id: "job_2Kn7wR4pM" })
    await reportOk(api, created.id, {
      type: "dispositioned",
      disposition: "escalated",
      summary: "Customer expressed interest in loan renewal and requested escalation to a human agent.",
      sentiment: "positive",
      sentiment_score: { overall: 0.42, by_speaker: { agent: 0.65, customer: 0.38 } }
    })
    const transcript = expectStatus(await api.get(`/v1/calls/${created.id}/transcript`), 200, "transcript")
    expect(transcript).toEqual({
      call_id: created.id,
      job_id: "job_2Kn7wR4pM",
      status: "completed",
      language: "hi-IN",
      duration_seconds: 142,
      transcript: seed001Segments,
      summary: "Customer expressed interest in loan renewal and requested escalation to a human agent.",
      sentiment: { overall: 0.42, by_speaker: { agent: 0.65, customer: 0.38 } }
    })
  })
})

describe("seed 002 (NextNeural)", () => {
  it("POST /v1/calls with seed 002's body ({to, campaign_id, contact_name, metadata}) records the call", async () => {
    const body = {
      to: "+918888888888",
      campaign_id: "flw_f1g2h3",
      contact_name: "Priya Kumar",
      metadata: { product_interest: "Standing Desk Pro", cart_value: 850 }
    }
    const call = expectStatus(await api.post("/v1/calls", body), 201, "POST /v1/calls")
    expectSeed001Record(call)
    expect(call).toEqual(expect.objectContaining({
      campaign_id: "flw_f1g2h3",
      to_number: "+918888888888",
      contact: expect.objectContaining({ phone: "+918888888888", name: "Priya Kumar" }),
      direction: "outbound",
      metadata: body.metadata
    }))
    const listed = expectStatus(await api.get("/v1/calls?campaign_id=flw_f1g2h3"), 200, "list")
    expect(listed.data.map((c: Json) => c.id)).toEqual([call.id])
  })

  it("GET /v1/calls/stats?campaign_id=&date_from=&date_to= answers seed 002's fields for that campaign and range", async () => {
    const campaign = "flw_stats_e2e"
    await completedCall(campaign, { disposition: "interested", duration: 100, sentiment: "positive" })
    await completedCall(campaign, { disposition: "callback", duration: 50, sentiment: "neutral" })
    await completedCall(campaign, { disposition: "not_reachable", duration: 20, sentiment: "neutral", outcome: "voicemail" })
    for (const outcome of ["no-answer", "failed", "busy"] as const) {
      const call = await placeCall(api, { to: "+918888888888", campaign_id: campaign, contact_name: "Priya Kumar" })
      await twilioLifecycle(api, call.id, outcome)
    }
    await completedCall("flw_some_other", { disposition: "interested", duration: 300 })

    const today = new Date().toISOString().slice(0, 10)
    const stats = expectStatus(await api.get(`/v1/calls/stats?campaign_id=${campaign}&date_from=${today}&date_to=${today}`), 200, "stats")
    expect(stats).toEqual(expect.objectContaining({
      total_calls: 6,
      connected: 2,
      voicemail: 1,
      no_answer: 2,
      failed: 1,
      connect_rate: 0.33,
      sentiment_breakdown: { positive: 1, neutral: 2, negative: 0 },
      avg_duration_seconds: 75
    }))
    expect(stats.by_disposition).toEqual(expect.objectContaining({ interested: 1, callback: 1, not_reachable: 1 }))
    expect(stats.daily).toEqual([{
      date: today, total_calls: 6, connected: 2, voicemail: 1, no_answer: 2, failed: 1, connect_rate: 0.33, avg_duration_seconds: 75
    }])
    // The body is written without encoding it through the success schema: it must still be exactly that schema.
    expect(Schema.decodeUnknownSync(CallStatsResponse, { onExcessProperty: "error" })(stats)).toEqual(stats)

    const past = expectStatus(await api.get(`/v1/calls/stats?campaign_id=${campaign}&date_from=2024-01-01&date_to=2024-01-31`), 200, "stats")
    expect(past).toEqual(expect.objectContaining({ total_calls: 0, connected: 0, connect_rate: 0, avg_duration_seconds: 0 }))
  })
})

describe("seed 004 (VOCALS)", () => {
  it("POST /v1/calls with seed 004's body ({to_number, from_number, agent_id}) records the call", async () => {
    const body = { to_number: "+15551234567", from_number: "+15559876543", agent_id: "550e8400-e29b-41d4-a716-446655440000" }
    const call = expectStatus(await api.post("/v1/calls", body), 201, "POST /v1/calls")
    expectSeed001Record(call)
    expect(call).toEqual(expect.objectContaining({
      to_number: "+15551234567",
      from_number: "+15559876543",
      agent_id: "550e8400-e29b-41d4-a716-446655440000",
      direction: "outbound",
      call_type: "telephony_outbound",
      contact: expect.objectContaining({ phone: "+15551234567" })
    }))
    const listed = expectStatus(await api.get("/v1/calls?agent_id=550e8400-e29b-41d4-a716-446655440000"), 200, "list")
    expect(listed.total).toBe(1)
    expect(listed.data[0].id).toBe(call.id)
  })
})

/**
 * Errors as a client sees them: bad input is a 400 whose JSON body names the field, an unknown call
 * a 404, an illegal transition a 409 naming the rule; and after every error nothing was written
 * (the log position of `GET /health` and the call itself are unchanged).
 */
import { beforeAll, describe, expect, it } from "vitest"
import { getCall, placeCall, reportOk, twilioLifecycle, twilioOk } from "../fixtures/callDriver.js"
import type { ApiResponse, Json } from "../fixtures/ledgerClient.js"
import { newCallSid, twilioStatus } from "../fixtures/ledgerClient.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"

const { api } = serviceForSpecFile()

beforeAll(async () => {
  // Something in the log, so "the position did not move" compares real positions.
  await placeCall(api, { phone: "+919876543210", name: "Warm-up" })
})

const validBody = { phone: "+919876543210", name: "Priya Sharma", script_id: "scr_appt_reminder", language: "en-IN" }

/** The fields a 400 body names: `field`, and the first element of each `issues[].path`. */
const namedFields = (body: Json): Array<string> => {
  const fields: Array<string> = []
  if (typeof body?.field === "string") fields.push(body.field)
  if (Array.isArray(body?.issues)) {
    for (const issue of body.issues) if (Array.isArray(issue.path) && issue.path.length > 0) fields.push(String(issue.path[0]))
  }
  return fields
}

const expectBadRequest = (response: ApiResponse, field: string) => {
  expect(response.status, response.text).toBe(400)
  expect(response.headers.get("content-type") ?? "", "a JSON body").toMatch(/application\/json/)
  expect(response.body, "a JSON body").toEqual(expect.objectContaining({ _tag: expect.any(String), message: expect.any(String) }))
  expect(namedFields(response.body), `the body names ${field}: ${response.text}`).toContain(field)
}

/** Runs `request` and checks it wrote nothing: the log position (and `callId`'s record, when given) did not change. */
const writesNothing = async <A>(request: () => Promise<A>, callId?: string): Promise<A> => {
  const position = await api.position()
  const call = callId === undefined ? null : await getCall(api, callId)
  const result = await request()
  // A write would be visible at once (writes wait for the projections), but give a stray one a moment.
  await new Promise((resolve) => setTimeout(resolve, 25))
  expect(await api.position(), "the log position moved").toBe(position)
  if (callId !== undefined) expect(await getCall(api, callId)).toEqual(call)
  return result
}

describe("400: bad input names the field and writes nothing", () => {
  it("an invalid E.164 number", async () => {
    for (const [field, body] of [
      ["phone", { ...validBody, phone: "9876543210" }],
      ["phone", { ...validBody, phone: "+0123456789" }],
      ["to", { to: "+91-98765-43210", campaign_id: "flw_f1g2h3" }],
      ["to_number", { to_number: "555-1234" }],
      ["from_number", { to_number: "+15551234567", from_number: "+1555" }]
    ] as const) {
      expectBadRequest(await writesNothing(() => api.post("/v1/calls", body)), field)
    }
  })

  it("a missing destination", async () => {
    expectBadRequest(await writesNothing(() => api.post("/v1/calls", { name: "Priya Sharma" })), "phone")
  })

  it("a bad BCP-47 language, in a body and in a query", async () => {
    expectBadRequest(await writesNothing(() => api.post("/v1/calls", { ...validBody, language: "english please" })), "language")
    expectBadRequest(await writesNothing(() => api.post("/v1/calls", { ...validBody, language: "en_IN" })), "language")
    expectBadRequest(await api.get("/v1/calls?language=hindi%20India"), "language")
  })

  it("an unknown query parameter, and an unknown body field", async () => {
    expectBadRequest(await api.get("/v1/calls?campaign=cmp_4Rv8sT1wX"), "campaign")
    expectBadRequest(await api.get("/v1/calls/stats?campaign_id=x&since=2024-01-01"), "since")
    expectBadRequest(await writesNothing(() => api.post("/v1/calls", { ...validBody, priority: "high" })), "priority")
  })

  it("limit=500 (the maximum is 100), and other bad paging and filters", async () => {
    expectBadRequest(await api.get("/v1/calls?limit=500"), "limit")
    expectBadRequest(await api.get("/v1/calls?limit=0"), "limit")
    expectBadRequest(await api.get("/v1/calls?offset=-1"), "offset")
    expectBadRequest(await api.get("/v1/calls?disposition=happy"), "disposition")
    expectBadRequest(await api.get("/v1/calls?from=yesterday"), "from")
    expectBadRequest(await api.get("/v1/calls/stats?date_from=01/02/2024"), "date_from")
    const ok = await api.get("/v1/calls?limit=100")
    expect(ok.status).toBe(200)
    expect(ok.body.limit).toBe(100)
  })

  it("a malformed JSON body", async () => {
    const id = (await placeCall(api, validBody)).id as string
    expectBadRequest(await writesNothing(() => api.postRaw("/v1/calls", '{"phone": "+919876543210", "name": ', "application/json")), "body")
    expectBadRequest(await writesNothing(() => api.postRaw(`/v1/calls/${id}/events`, "{type: answered}", "application/json"), id), "body")
  })

  it("an unknown report type, and a report missing its fields", async () => {
    const id = (await placeCall(api, validBody)).id as string
    expectBadRequest(await writesNothing(() => api.report(id, { type: "exploded" }), id), "type")
    expectBadRequest(await writesNothing(() => api.report(id, { reason: "user_hangup" }), id), "type")
    expectBadRequest(await writesNothing(() => api.report(id, { type: "ended", reason: "bored" }), id), "reason")
    expectBadRequest(await writesNothing(() => api.report(id, { type: "transferred" }), id), "target")
  })

  it("an agent_brief longer than 280 characters", async () => {
    const live = (await placeCall(api, validBody)).id as string
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), live)
    await twilioOk(api, twilioStatus(sid, "in-progress", 1, { AnsweredBy: "human" }), live)
    const brief = "x".repeat(281)
    expectBadRequest(await writesNothing(() => api.report(live, { type: "transferred", target: "sales_specialist", agent_brief: brief }), live), "agent_brief")
    // 280 is allowed.
    const ok = await reportOk(api, live, { type: "transferred", target: "sales_specialist", agent_brief: "x".repeat(280) })
    expect(ok.appended).toEqual(["CallTransferred"])
  })
})

describe("404: an unknown call", () => {
  it("GET, GET transcript and POST events for an unknown id are 404 CallNotFound and write nothing", async () => {
    for (const response of [
      await api.get("/v1/calls/cal_doesNotExist"),
      await api.get("/v1/calls/cal_doesNotExist/transcript"),
      await writesNothing(() => api.report("cal_doesNotExist", { type: "answered" })),
      await writesNothing(() => api.report("cal_doesNotExist", { type: "ended", reason: "user_hangup" })),
      await writesNothing(() => api.report("cal_doesNotExist", { type: "dispositioned", disposition: "interested" }))
    ]) {
      expect(response.status, response.text).toBe(404)
      expect(response.body).toEqual(expect.objectContaining({ _tag: "CallNotFound", call_id: "cal_doesNotExist", message: expect.any(String) }))
    }
  })
})

describe("404: an unknown route", () => {
  it("is JSON too, and writes nothing", async () => {
    for (const response of [
      await api.get("/v1/cals"),
      await writesNothing(() => api.post("/v1/calls/cal_x/events/extra", { type: "answered" })),
      await writesNothing(() => api.post("/calls", { phone: "+919876543210" }))
    ]) {
      expect(response.status, response.text).toBe(404)
      expect(response.body).toEqual(expect.objectContaining({ _tag: "RouteNotFound", message: expect.any(String) }))
    }
  })
})

describe("409: an illegal transition names the rule and writes nothing", () => {
  const expectConflict = (response: ApiResponse, rule: string, callId: string) => {
    expect(response.status, response.text).toBe(409)
    expect(response.body).toEqual(expect.objectContaining({ _tag: "CallConflict", rule, call_id: callId, message: expect.any(String) }))
  }

  it("an answer after the end, a transfer on an ended call, a second end", async () => {
    const id = (await placeCall(api, validBody)).id as string
    await twilioLifecycle(api, id, "no-answer")
    expect((await getCall(api, id)).status).toBe("no_answer")
    expectConflict(await writesNothing(() => api.report(id, { type: "answered", answered_by: "human" }), id), "CallAlreadyEnded", id)
    expectConflict(await writesNothing(() => api.report(id, { type: "transferred", target: "sales_specialist" }), id), "CallNotActive", id)
    expectConflict(await writesNothing(() => api.report(id, { type: "ended", reason: "workflow_close" }), id), "CallAlreadyEnded", id)
  })

  it("a transcript on a call that was never answered", async () => {
    const id = (await placeCall(api, validBody)).id as string
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
    await twilioOk(api, twilioStatus(sid, "ringing", 1), id)
    const segments = [{ speaker: "agent", text: "Hello?", start_time: 0, end_time: 1 }]
    expectConflict(await writesNothing(() => api.report(id, { type: "transcribed", segments, final: true }), id), "CallNotAnswered", id)
  })

  it("a second transfer, and a transcript after the final one", async () => {
    const id = (await placeCall(api, validBody)).id as string
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
    await twilioOk(api, twilioStatus(sid, "in-progress", 1, { AnsweredBy: "human" }), id)
    await reportOk(api, id, { type: "transferred", target: "support_team" })
    expectConflict(await writesNothing(() => api.report(id, { type: "transferred", target: "sales_specialist" }), id), "CallNotActive", id)
    const segments = [{ speaker: "agent", text: "Hello", start_time: 0, end_time: 1 }]
    await reportOk(api, id, { type: "transcribed", segments, final: true })
    expectConflict(await writesNothing(() => api.report(id, { type: "transcribed", segments, final: true }), id), "TranscriptAlreadyFinal", id)
  })
})

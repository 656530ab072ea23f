/**
 * What `POST /v1/calls` refuses and how it answers retries: the same `Idempotency-Key` with the
 * same body answers the first response; with another body (or on another endpoint) it is a 422;
 * a number on the do-not-call list is a 422 `DoNotCall` naming it. None of the refusals writes.
 */
import { describe, expect, it } from "vitest"
import { expectStatus, placeCall, reportOk, twilioLifecycle } from "../fixtures/callDriver.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { expectError, expectWritesNothing } from "../fixtures/writesNothing.js"

const { api } = serviceForSpecFile()

const body = {
  phone: "+919876500001",
  name: "Priya Sharma",
  script_id: "scr_appt_reminder",
  language: "en-IN",
  metadata: { appointment_date: "3rd February", doctor_name: "Dr. Kapoor" }
}

describe("Idempotency-Key", () => {
  it("the same key and body answer the first response and write nothing more, whatever the key order", async () => {
    const key = `guards-${Date.now()}`
    const first = await api.post("/v1/calls", body, { "Idempotency-Key": key })
    expect(first.status, first.text).toBe(201)
    const reordered = { metadata: { doctor_name: "Dr. Kapoor", appointment_date: "3rd February" }, language: "en-IN", script_id: "scr_appt_reminder", name: "Priya Sharma", phone: "+919876500001" }
    const again = await expectWritesNothing(api, () => api.post("/v1/calls", reordered, { "Idempotency-Key": key }))
    expect(again.status).toBe(201)
    expect(again.body).toEqual(first.body)
  })

  it("the same key with another body, or on another endpoint, is a 422 and writes nothing", async () => {
    const key = `guards-reuse-${Date.now()}`
    const first = await placeCall(api, body, { "Idempotency-Key": key })
    const other = await expectWritesNothing(api, () => api.post("/v1/calls", { ...body, name: "Someone Else" }, { "Idempotency-Key": key }), first.id)
    expectError(other, 422, "IdempotencyKeyReused")
    expect(other.body.idempotency_key).toBe(key)

    const batch = await expectWritesNothing(api, () => api.post("/v1/calls/batch", { to_numbers: ["+15551111111"] }, { "Idempotency-Key": key }))
    expectError(batch, 422, "IdempotencyKeyReused")

    // The first response still answers the first body.
    expect(expectStatus(await api.post("/v1/calls", body, { "Idempotency-Key": key }), 201, "retry")).toEqual(first)
  })
})

describe("the do-not-call list", () => {
  it("a number that asked not to be called (dnc_request) is refused in every body shape, with a 422 naming it", async () => {
    const phone = "+919876500002"
    const call = await placeCall(api, { phone, name: "Opted Out" })
    await twilioLifecycle(api, call.id, "connected", 20)
    await reportOk(api, call.id, { type: "dispositioned", disposition: "not_interested" })
    expect(expectStatus(await api.post("/v1/calls", { phone, name: "Again" }), 201, "before the request").id).toBeDefined()

    // A workflow ends a live call with dnc_request (seed 002).
    const live = await placeCall(api, { phone, name: "Opted Out" })
    await reportOk(api, live.id, { type: "answered" })
    expectStatus(await api.post(`/v1/calls/${live.id}/end`, { reason: "dnc_request" }), 200, "end")

    for (const [field, request] of [
      ["phone", { phone, name: "Again", script_id: "scr_1", language: "en-IN" }],
      ["to", { to: phone, campaign_id: "flw_f1g2h3", contact_name: "Again" }],
      ["to_number", { to_number: phone, from_number: "+15559876543" }]
    ] as const) {
      const response = await expectWritesNothing(api, () => api.post("/v1/calls", request))
      expectError(response, 422, "DoNotCall")
      expect(response.body).toEqual(expect.objectContaining({ phone, field }))
    }
  })

  it("a dnd disposition puts the number on the list too; a refused request leaves its Idempotency-Key free", async () => {
    const phone = "+919876500003"
    const call = await placeCall(api, { phone, name: "Do Not Disturb" })
    await twilioLifecycle(api, call.id, "connected", 15)
    await reportOk(api, call.id, { type: "dispositioned", disposition: "dnd" })

    const key = `guards-dnc-${Date.now()}`
    const refused = await expectWritesNothing(api, () => api.post("/v1/calls", { phone, name: "Again" }, { "Idempotency-Key": key }))
    expectError(refused, 422, "DoNotCall")
    // Nothing was kept for the key: it may be used for another request.
    const other = await api.post("/v1/calls", { phone: "+919876500004", name: "Someone Else" }, { "Idempotency-Key": key })
    expect(other.status, other.text).toBe(201)
  })
})

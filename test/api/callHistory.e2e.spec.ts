/**
 * Reading calls back for audit and in bulk: `GET /v1/calls/{id}/events` (the call's history from
 * the log) and `POST /v1/calls/search` (seed 003's batch fetch of up to 100 ids).
 */
import { describe, expect, it } from "vitest"
import { expectStatus, isIsoInstant, placeCall, reportOk, twilioLifecycle } from "../fixtures/callDriver.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { expectError, expectWritesNothing } from "../fixtures/writesNothing.js"

const { api } = serviceForSpecFile()

describe("GET /v1/calls/{id}/events", () => {
  it("lists the call's events from the log in revision order, with times, data and metadata", async () => {
    const call = await placeCall(api, { phone: "+919876543210", name: "Priya Sharma", language: "hi-IN" }, { "Idempotency-Key": "history-1" })
    await twilioLifecycle(api, call.id, "connected", 42)
    await reportOk(api, call.id, { type: "dispositioned", disposition: "interested", occurred_at: "2024-02-01T09:16:30Z", command_id: "disp-1" })

    const history = expectStatus(await api.get(`/v1/calls/${call.id}/events`), 200, "events")
    expect(history.call_id).toBe(call.id)
    expect(history.events.map((e: { type: string }) => e.type)).toEqual([
      "CallDialed", "CallInitiated", "CallRinging", "CallAnswered", "CallEnded", "CallDispositioned"
    ])
    expect(history.events.map((e: { revision: number }) => e.revision)).toEqual([0, 1, 2, 3, 4, 5])
    for (const event of history.events) {
      expect(isIsoInstant(event.recorded_at), event.recorded_at).toBe(true)
      expect(isIsoInstant(event.occurred_at), event.occurred_at).toBe(true)
      expect(event.event_id).toMatch(/^[0-9a-f-]{36}$/)
      expect(event.position).toMatch(/^\d+\/\d+$/)
      expect(event.data.callId).toBe(call.id)
    }
    const [dialed] = history.events
    expect(dialed.data).toEqual(expect.objectContaining({ to: "+919876543210", language: "hi-IN", status: "queued" }))
    expect(dialed.metadata).toEqual({ schema_version: 1, command_id: "history-1", correlation_id: "history-1", causation_id: null })
    const disposition = history.events[5]
    expect(disposition.occurred_at).toBe("2024-02-01T09:16:30.000Z")
    expect(disposition.metadata.command_id).toBe("disp-1")
    expect(disposition.data.disposition).toBe("interested")
  })

  it("pages a long history by revision: limit events from from_revision, next_revision to go on, an empty page past the end", async () => {
    const call = await placeCall(api, { phone: "+919876543213", name: "Long Call" })
    await twilioLifecycle(api, call.id, "connected", 600)
    for (let i = 0; i < 7; i++) {
      await reportOk(api, call.id, { type: "metadata", key_details: { turn: i }, command_id: `${call.id}-turn-${i}` })
    }
    const whole = expectStatus(await api.get(`/v1/calls/${call.id}/events`), 200, "events")
    expect(whole.has_more).toBe(false)
    expect(whole.next_revision).toBeNull()
    const total = whole.events.length as number
    expect(total).toBeGreaterThan(10)

    const seen: Array<number> = []
    let from: number | null = 0
    let pages = 0
    while (from !== null) {
      const page = expectStatus(await api.get(`/v1/calls/${call.id}/events?from_revision=${from}&limit=4`), 200, "page")
      expect(page.events.length).toBe(Math.min(4, total - from))
      seen.push(...page.events.map((e: { revision: number }) => e.revision))
      expect(page.has_more).toBe(page.next_revision !== null)
      from = page.next_revision
      pages++
    }
    expect(seen).toEqual(whole.events.map((e: { revision: number }) => e.revision))
    expect(pages).toBe(Math.ceil(total / 4))

    // A page of exactly what is left ends the history, without an empty page after it.
    const exact = expectStatus(await api.get(`/v1/calls/${call.id}/events?limit=${total}`), 200, "limit = total")
    expect([exact.events.length, exact.has_more, exact.next_revision]).toEqual([total, false, null])
    const last = expectStatus(await api.get(`/v1/calls/${call.id}/events?from_revision=${total - 1}`), 200, "the last event")
    expect(last.events.map((e: { revision: number }) => e.revision)).toEqual([total - 1])
    for (const from of [total, total + 5]) {
      const past = expectStatus(await api.get(`/v1/calls/${call.id}/events?from_revision=${from}`), 200, "past the end")
      expect(past).toEqual({ call_id: call.id, events: [], next_revision: null, has_more: false })
    }
    expectError(await api.get(`/v1/calls/cal_doesNotExist/events?from_revision=3`), 404, "CallNotFound")
  })

  it("a bad page is a 400 naming the parameter", async () => {
    const call = await placeCall(api, { phone: "+919876543214", name: "Bad Page" })
    for (const [query, field] of [["limit=0", "limit"], ["limit=1001", "limit"], ["from_revision=-1", "from_revision"], ["from_revision=x", "from_revision"], ["page=2", "page"]]) {
      const response = await api.get(`/v1/calls/${call.id}/events?${query}`)
      expect(response.status, `${query}: ${response.text}`).toBe(400)
      expect(response.text, query).toContain(field)
    }
  })

  it("404 for an unknown call", async () => {
    const response = await api.get("/v1/calls/cal_doesNotExist/events")
    expectError(response, 404, "CallNotFound")
    expect(response.body.call_id).toBe("cal_doesNotExist")
  })
})

describe("POST /v1/calls/search", () => {
  it("returns the calls found in the order asked, once each, and the ids not found", async () => {
    const a = await placeCall(api, { phone: "+919876543211", name: "A" })
    const b = await placeCall(api, { phone: "+919876543212", name: "B" })
    const found = expectStatus(
      await api.post("/v1/calls/search", { call_ids: [b.id, "cal_missing1", a.id, b.id, "cal_missing1", "cal_missing2"] }),
      200,
      "search"
    )
    expect(found.data.map((c: { id: string }) => c.id)).toEqual([b.id, a.id])
    expect(found.data[0]).toEqual(expect.objectContaining({ id: b.id, contact: expect.objectContaining({ phone: "+919876543212" }), status: "queued" }))
    expect(found.not_found).toEqual(["cal_missing1", "cal_missing2"])
  })

  it("takes 100 ids; 101, none, or an unknown field is a 400 naming call_ids and writes nothing", async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `cal_x${i}`)
    const ok = expectStatus(await api.post("/v1/calls/search", { call_ids: hundred }), 200, "100 ids")
    expect(ok.not_found).toHaveLength(100)

    for (const body of [{ call_ids: [...hundred, "cal_x100"] }, { call_ids: [] }, {}, { call_ids: ["cal_1"], limit: 5 }]) {
      const response = await expectWritesNothing(api, () => api.post("/v1/calls/search", body))
      expect(response.status, response.text).toBe(400)
      const named = [response.body.field, ...(response.body.issues ?? []).map((i: { path: Array<unknown> }) => String(i.path[0]))]
      expect(named.some((f) => f === "call_ids" || f === "limit"), response.text).toBe(true)
    }
  })
})

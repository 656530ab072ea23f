/**
 * Retries are safe: `POST /v1/calls` twice with the same `Idempotency-Key` names the same call and
 * records it once; a report sent twice with the same `command_id` (or `Idempotency-Key`) appends once.
 */
import { describe, expect, it } from "vitest"
import { expectStatus, getCall, placeCall, reportOk, twilioOk } from "../fixtures/callDriver.js"
import { newCallSid, twilioStatus } from "../fixtures/ledgerClient.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { expectWritesNothing } from "../fixtures/writesNothing.js"

const { api } = serviceForSpecFile()

const countIn = async (campaign: string): Promise<number> =>
  expectStatus(await api.get(`/v1/calls?campaign_id=${campaign}`), 200, "list").total as number

describe("idempotency", () => {
  it("POST /v1/calls twice with the same Idempotency-Key: the same call id, one call, one append", async () => {
    const body = { phone: "+919876543210", name: "Priya Sharma", campaign_id: "cmp_idem", language: "en-IN" }
    const key = `idem-${Date.now()}-${Math.random()}`
    const first = await placeCall(api, body, { "Idempotency-Key": key })
    const position = await api.position()
    const second = await placeCall(api, body, { "Idempotency-Key": key })
    expect(second.id).toBe(first.id)
    expect(second).toEqual(first)
    expect(await api.position()).toBe(position)
    expect(await countIn("cmp_idem")).toBe(1)

    // Concurrent retries of one key still make one call.
    const key2 = `${key}-concurrent`
    const racing = await Promise.all(Array.from({ length: 5 }, () => api.post("/v1/calls", body, { "idempotency-key": key2 })))
    const statuses = racing.map((r) => r.status)
    expect(statuses.every((s) => s === 201), `statuses ${statuses.join(",")}: ${racing.map((r) => r.text).join(" | ")}`).toBe(true)
    expect(new Set(racing.map((r) => r.body.id)).size).toBe(1)
    expect(await countIn("cmp_idem")).toBe(2)

    // Without a key, the same body twice is two calls.
    await placeCall(api, body)
    await placeCall(api, body)
    expect(await countIn("cmp_idem")).toBe(4)
  })

  it("a report with the same command_id twice appends once", async () => {
    const id = (await placeCall(api, { phone: "+919876543210", name: "Priya Sharma", campaign_id: "cmp_idem_reports" })).id as string
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
    await twilioOk(api, twilioStatus(sid, "in-progress", 1, { AnsweredBy: "human" }), id)

    const segments = [{ speaker: "agent", text: "Hello, this is Aria.", start_time: 0.4, end_time: 2.1 }]
    const report = { type: "transcribed", segments, final: false, command_id: "pipeline-cmd-0001" }
    const first = await reportOk(api, id, report)
    expect(first.appended).toEqual(["CallTranscribed"])
    const position = await api.position()
    const second = await reportOk(api, id, report)
    expect(second.appended).toEqual([])
    expect(second.call.revision).toBe(first.call.revision)
    expect(await api.position()).toBe(position)

    // The same through the Idempotency-Key header.
    const metadata = { type: "metadata", key_details: { qms_scores: { opening: 3 } } }
    const viaHeader = expectStatus(await api.report(id, metadata, { "Idempotency-Key": "pipeline-cmd-0002" }), 200, "metadata")
    expect(viaHeader.appended).toEqual(["CallMetadataMerged"])
    const again = expectStatus(await api.report(id, metadata, { "Idempotency-Key": "pipeline-cmd-0002" }), 200, "metadata")
    expect(again.appended).toEqual([])
    expect(again.call.revision).toBe(viaHeader.call.revision)

    // A retried `ended` is a no-op, not a 409.
    const end = { type: "ended", reason: "user_hangup", command_id: "pipeline-cmd-0003" }
    expect((await reportOk(api, id, end)).appended).toEqual(["CallEnded"])
    const endedPosition = await api.position()
    expect((await reportOk(api, id, end)).appended).toEqual([])
    expect(await api.position()).toBe(endedPosition)
    expect((await getCall(api, id)).status).toBe("completed")
  })

  it("a command_id with a lone surrogate is a 400 naming command_id and writes nothing (it has no UTF-8 form to name events by)", async () => {
    const id = (await placeCall(api, { phone: "+919876543210", name: "Priya Sharma", campaign_id: "cmp_idem_surrogate" })).id as string
    // JSON.stringify writes the lone half as the escape \ud800, which the server parses back into it.
    for (const commandId of ["\ud800", "cmd-\udfff-1"]) {
      const response = await expectWritesNothing(api, () => api.report(id, { type: "answered", answered_by: "human", command_id: commandId }))
      expect(response.status, response.text).toBe(400)
      const named = [response.body.field, ...(response.body.issues ?? []).map((i: { path: Array<unknown> }) => String(i.path[0]))]
      expect(named, response.text).toContain("command_id")
    }
    // The same report with a well-formed id (an emoji is a surrogate pair) is taken.
    expect((await reportOk(api, id, { type: "answered", answered_by: "human", command_id: "cmd-😀-1" })).appended).toEqual(["CallAnswered"])
  })
})

/**
 * Paging `GET /v1/calls` over HTTP: offset pages (seeds 001/002) and keyset pages by `next_cursor`,
 * which stay exact while newer calls arrive between pages.
 */
import { describe, expect, it } from "vitest"
import { expectStatus, getCall, placeCall, reportOk } from "../fixtures/callDriver.js"
import type { Json } from "../fixtures/ledgerClient.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { expectError } from "../fixtures/writesNothing.js"

const { api } = serviceForSpecFile()

const campaign = "cmp_paging"
const page = async (query: string): Promise<Json> => expectStatus(await api.get(`/v1/calls?campaign_id=${campaign}&${query}`), 200, query)

describe("GET /v1/calls paging", () => {
  it("follows next_cursor through every call once, newest first, even as new calls arrive between pages", async () => {
    const placed: Array<string> = []
    for (let i = 0; i < 5; i++) placed.push((await placeCall(api, { phone: `+1555010000${i}`, campaign_id: campaign })).id)
    const newestFirst = [...placed].reverse()

    const first = await page("limit=2")
    expect(first).toEqual(expect.objectContaining({ total: 5, limit: 2, offset: 0, has_more: true, next_cursor: expect.any(String) }))
    expect(first.data.map((c: Json) => c.id)).toEqual(newestFirst.slice(0, 2))

    // A call placed now is newer than every page: the cursor keeps the next pages where they were.
    const newer = (await placeCall(api, { phone: "+15550100009", campaign_id: campaign })).id
    const second = await page(`limit=2&cursor=${first.next_cursor}`)
    const third = await page(`limit=2&cursor=${second.next_cursor}`)
    expect([...second.data, ...third.data].map((c: Json) => c.id)).toEqual(newestFirst.slice(2))
    expect(third).toEqual(expect.objectContaining({ has_more: false, next_cursor: null, total: 6 }))

    // An offset beside a cursor is ignored, and answered as such.
    const withOffset = await page(`limit=2&offset=3&cursor=${first.next_cursor}`)
    expect(withOffset.offset).toBe(0)
    expect(withOffset.data.map((c: Json) => c.id)).toEqual(newestFirst.slice(2, 4))

    const offsetPage = await page("limit=2&offset=2")
    expect(offsetPage).toEqual(expect.objectContaining({ total: 6, limit: 2, offset: 2 }))
    expect(offsetPage.data.map((c: Json) => c.id)).toEqual([newer, ...newestFirst].slice(2, 4))
  })

  it("lists each call exactly as GET /v1/calls/{id} answers it, recording_url signed, whatever its metadata holds", async () => {
    const listed = "cmp_listed"
    const awkward = { has_recording: true, nested: { has_recording: 'x\\"{[' } }
    const plain = await placeCall(api, { phone: "+15550100101", campaign_id: listed, name: 'Ann "has_recording":true {[', metadata: awkward })
    const recorded = await placeCall(api, { phone: "+15550100102", campaign_id: listed })
    const report = await reportOk(api, recorded.id, { type: "recording", recording_url: "https://recordings.example.com/listed.mp3", duration_seconds: 30 })
    await expectStatus(await api.post(`/v1/calls/${plain.id}/metadata`, { key_details: awkward }), 200, "metadata")
    const unsigned = (call: Json) => ({ ...call, recording_url: call.recording_url?.split("?")[0] })
    const { data } = await expectStatus(await api.get(`/v1/calls?campaign_id=${listed}`), 200, "list")
    expect(data.map((c: Json) => c.id)).toEqual([recorded.id, plain.id])
    for (const call of data) {
      const single = await getCall(api, call.id)
      // Signed at the same second unless the clock ticked between the two requests.
      expect(unsigned(call)).toEqual(unsigned(single))
      expect(call).not.toHaveProperty("has_recording")
    }
    // The report's answer carries the call as GET /v1/calls/{id} does too.
    expect(report).toMatchObject({ call_id: recorded.id, appended: ["CallRecordingAttached"] })
    expect(unsigned(report.call)).toEqual(unsigned(await getCall(api, recorded.id)))
    expect(data[0].recording_url).toMatch(new RegExp(`/v1/calls/${recorded.id}/recording\\?expires=\\d+&token=`))
    expect(data[1].recording_url).toBeNull()
    expect(data[1]).toMatchObject({ metadata: awkward, key_details: awkward })
  })

  it("refuses a cursor it did not issue with a 400 naming the field", async () => {
    const response = await api.get("/v1/calls?cursor=not-a-cursor")
    expectError(response, 400, "InvalidRequest")
    expect(response.body.field).toBe("cursor")
  })
})

/**
 * Recordings: a reference arrives as an event (`recording` report), `GET /v1/calls/{id}` signs a
 * URL valid one hour (seed 001), and that URL redirects to the provider's recording; a bad or
 * expired token is a 403, no recording or an opted-out contact a 404 (seed 002).
 */
import { describe, expect, it } from "vitest"
import { getCall, placeCall, reportOk, twilioLifecycle } from "../fixtures/callDriver.js"
import type { ApiResponse } from "../fixtures/ledgerClient.js"
import { serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { expectError } from "../fixtures/writesNothing.js"
import { signRecordingUrl } from "../../src/api/recordingUrls.js"

const { api, server } = serviceForSpecFile()

/** A GET that does not follow redirects. */
const fetchManual = async (url: string): Promise<ApiResponse> => {
  const response = await fetch(url, { redirect: "manual" })
  const text = await response.text()
  let body = null
  try {
    body = text === "" ? null : JSON.parse(text)
  } catch {
    body = null
  }
  return { status: response.status, body, text, headers: response.headers }
}

/** A URL signed by the service's key, as if issued at `nowMillis`. */
const signed = (callId: string, nowMillis = Date.now()) => signRecordingUrl(server().url, server().config.signingKey, callId, nowMillis)

let phoneCounter = 0
const connectedCall = async () => {
  const call = await placeCall(api, { phone: `+91987651${String(1000 + ++phoneCounter)}`, name: "Priya Sharma" })
  await twilioLifecycle(api, call.id, "connected", 60)
  return call
}

describe("GET /v1/calls/{id}/recording", () => {
  it("the signed recording_url of the call record redirects (302) to the provider's recording", async () => {
    const call = await connectedCall()
    const ref = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0123.mp3"
    await reportOk(api, call.id, { type: "recording", recording_url: ref, duration_seconds: 60 })
    const record = await getCall(api, call.id)
    expect(record.recording_url).toMatch(new RegExp(`^${server().url}/v1/calls/${call.id}/recording\\?expires=\\d+&token=`))

    const response = await fetchManual(record.recording_url)
    expect(response.status, response.text).toBe(302)
    expect(response.headers.get("location")).toBe(ref)
    expect(response.headers.get("cache-control")).toBe("no-store")

    // The latest recording wins.
    const newer = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0456.mp3"
    await reportOk(api, call.id, { type: "recording", recording_url: newer })
    expect((await fetchManual(signed(call.id))).headers.get("location")).toBe(newer)
  })

  it("403 for a wrong, foreign, expired or missing token", async () => {
    const call = await connectedCall()
    await reportOk(api, call.id, { type: "recording", recording_url: "https://recordings.example.com/a.mp3" })
    const good = new URL(signed(call.id))
    const expires = good.searchParams.get("expires")!
    const token = good.searchParams.get("token")!
    const base = `${server().url}/v1/calls/${call.id}/recording`

    const other = await connectedCall()
    const foreign = new URL(signed(other.id)).searchParams.get("token")!
    const expired = signed(call.id, Date.now() - 2 * 3600_000)
    for (const url of [
      `${base}?expires=${expires}&token=${token.slice(0, -2)}xx`,
      `${base}?expires=${Number(expires) + 1}&token=${token}`,
      `${base}?expires=${expires}&token=${foreign}`,
      expired,
      `${base}?expires=${expires}`,
      base
    ]) {
      const response = await fetchManual(url)
      expectError(response, 403, "InvalidRecordingToken")
      expect(response.body.call_id).toBe(call.id)
    }
    expect((await fetchManual(`${base}?expires=${expires}&token=${token}`)).status).toBe(302)
    expect((await fetchManual(`${base}?expires=${expires}&token=${token}&download=1`)).status).toBe(400)
  })

  it("404 when the call is unknown, has no recording, or its reference is not a URL", async () => {
    expectError(await fetchManual(signed("cal_unknown")), 404, "CallNotFound")

    const none = await connectedCall()
    expect((await getCall(api, none.id)).recording_url).toBeNull()
    const missing = await fetchManual(signed(none.id))
    expectError(missing, 404, "RecordingNotFound")
    expect(missing.body.reason).toBe("none")

    const file = await connectedCall()
    await reportOk(api, file.id, { type: "recording", recording_url: "call-CA1234567890abcdef.wav" })
    const notUrl = await fetchManual((await getCall(api, file.id)).recording_url)
    expectError(notUrl, 404, "RecordingNotFound")
    expect(notUrl.body.reason).toBe("not_addressable")
  })

  it("404 when the contact opted out (their number is on the do-not-call list)", async () => {
    const call = await connectedCall()
    await reportOk(api, call.id, { type: "recording", recording_url: "https://recordings.example.com/b.mp3" })
    const url = (await getCall(api, call.id)).recording_url
    expect((await fetchManual(url)).status).toBe(302)

    await reportOk(api, call.id, { type: "dispositioned", disposition: "dnd" })
    const optedOut = await fetchManual(url)
    expectError(optedOut, 404, "RecordingNotFound")
    expect(optedOut.body.reason).toBe("opted_out")
  })
})

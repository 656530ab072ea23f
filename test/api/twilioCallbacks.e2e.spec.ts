/**
 * Twilio status callbacks over real HTTP, signed with the real `twilio` package
 * (`getExpectedTwilioSignature` over the service's public URL, path and query, and the form
 * parameters): a good signature is accepted; a wrong, foreign or missing one is a 403 that writes
 * nothing; duplicates and late callbacks append nothing; an inbound call's first callback creates it.
 */
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js"
import { describe, expect, it } from "vitest"
import { expectStatus, getCall, placeCall, twilioOk } from "../fixtures/callDriver.js"
import { newCallSid, twilioStatus } from "../fixtures/ledgerClient.js"
import { serviceForSpecFile, testTwilioAuthToken } from "../fixtures/ledgerServer.js"

const { api, server } = serviceForSpecFile()

const newCall = async () => (await placeCall(api, { phone: "+919876543210", name: "Priya Sharma", campaign_id: "cmp_twilio" })).id as string

describe("Twilio status callbacks", () => {
  it("a callback signed with the service's auth token is accepted and recorded", async () => {
    const id = await newCall()
    const sid = newCallSid()
    const params = twilioStatus(sid, "initiated", 0)
    const path = `/v1/telephony/twilio/status?call_id=${id}`
    const signature = getExpectedTwilioSignature(testTwilioAuthToken, `${server().url}${path}`, params)
    const response = await api.postRaw(path, new URLSearchParams(params).toString(), "application/x-www-form-urlencoded", {
      "X-Twilio-Signature": signature
    })
    expect(expectStatus(response, 200, "signed callback")).toEqual({ call_id: id, appended: ["CallInitiated"] })
    expect(await getCall(api, id)).toEqual(expect.objectContaining({ status: "initiated", call_sid: sid }))
  })

  it("wrongly signed, signed over another URL, tampered and unsigned callbacks are 403 and write nothing", async () => {
    const id = await newCall()
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
    const callBefore = await getCall(api, id)
    const positionBefore = await api.position()
    expect(positionBefore).not.toBeNull()

    const ringing = twilioStatus(sid, "ringing", 1)
    const attempts = [
      await api.twilio(ringing, { callId: id, signing: { kind: "token", token: "not-the-auth-token" } }),
      await api.twilio(ringing, { callId: id, signing: { kind: "none" } }),
      await api.twilio(ringing, { callId: id, signing: { kind: "header", signature: "" } }),
      // Signed over the URL without the query Twilio actually called.
      await api.twilio(ringing, {
        callId: id,
        signing: { kind: "header", signature: getExpectedTwilioSignature(testTwilioAuthToken, `${server().url}/v1/telephony/twilio/status`, ringing) }
      }),
      // Signed for `ringing`, but the body says `completed`.
      await api.postRaw(
        `/v1/telephony/twilio/status?call_id=${id}`,
        new URLSearchParams({ ...ringing, CallStatus: "completed", CallDuration: "99" }).toString(),
        "application/x-www-form-urlencoded",
        { "x-twilio-signature": getExpectedTwilioSignature(testTwilioAuthToken, `${server().url}/v1/telephony/twilio/status?call_id=${id}`, ringing) }
      )
    ]
    for (const response of attempts) {
      expect(response.status, response.text).toBe(403)
      expect(response.body).toEqual(expect.objectContaining({ _tag: "InvalidTwilioSignature", message: expect.any(String) }))
    }
    // An inbound call's first callback, unsigned, creates nothing either.
    const inbound = await api.twilio(
      twilioStatus(newCallSid(), "ringing", 0, { Direction: "inbound", From: "+14155550192", To: "+15550010000" }),
      { signing: { kind: "none" } }
    )
    expect(inbound.status).toBe(403)

    expect(await getCall(api, id)).toEqual(callBefore)
    expect(await api.position()).toBe(positionBefore)
  })

  it("a duplicate callback and a late one (lower SequenceNumber) append nothing", async () => {
    const id = await newCall()
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
    await twilioOk(api, twilioStatus(sid, "ringing", 1), id)
    const inProgress = twilioStatus(sid, "in-progress", 2, { AnsweredBy: "human" })
    expect((await twilioOk(api, inProgress, id)).appended).toEqual(["CallAnswered"])
    const call = await getCall(api, id)
    const position = await api.position()

    // Twilio retries the same callback.
    expect((await twilioOk(api, inProgress, id)).appended).toEqual([])
    // `ringing` arrives after `in-progress`.
    expect((await twilioOk(api, twilioStatus(sid, "ringing", 1), id)).appended).toEqual([])
    // A stale `initiated`.
    expect((await twilioOk(api, twilioStatus(sid, "initiated", 0), id)).appended).toEqual([])
    // A `completed` whose SequenceNumber is not above the last applied one.
    expect((await twilioOk(api, twilioStatus(sid, "completed", 2, { CallDuration: "30" }), id)).appended).toEqual([])
    expect(await getCall(api, id)).toEqual(call)
    expect(await api.position()).toBe(position)

    expect((await twilioOk(api, twilioStatus(sid, "completed", 3, { CallDuration: "30" }), id)).appended).toEqual(["CallEnded"])
    const ended = await getCall(api, id)
    expect(ended).toEqual(expect.objectContaining({ status: "completed", duration_seconds: 30 }))
    const endedPosition = await api.position()
    expect(endedPosition).not.toBe(position)
    // After the end: a repeat of `completed` and a `no-answer` append nothing.
    expect((await twilioOk(api, twilioStatus(sid, "completed", 3, { CallDuration: "30" }), id)).appended).toEqual([])
    expect((await twilioOk(api, twilioStatus(sid, "no-answer", 4), id)).appended).toEqual([])
    expect(await getCall(api, id)).toEqual(ended)
    expect(await api.position()).toBe(endedPosition)
  })

  it("an inbound call's first callback creates the call; later ones find it by CallSid", async () => {
    const sid = newCallSid()
    const inbound = (status: string, sequence: number, extra: Record<string, string> = {}) =>
      twilioStatus(sid, status, sequence, { Direction: "inbound", From: "+14155550192", To: "+15550010000", CallerName: "Alex Doe", ...extra })

    const first = await twilioOk(api, inbound("ringing", 0))
    expect(first.appended).toEqual(["CallDialed", "CallRinging"])
    const id: string = first.call_id
    const call = await getCall(api, id)
    expect(call).toEqual(expect.objectContaining({
      id,
      direction: "inbound",
      call_type: "telephony_inbound",
      call_sid: sid,
      from_number: "+14155550192",
      to_number: "+15550010000",
      contact: expect.objectContaining({ phone: "+14155550192", name: "Alex Doe" }),
      status: "ringing"
    }))
    expect((await twilioOk(api, inbound("ringing", 0))).appended).toEqual([])

    const answered = await twilioOk(api, inbound("in-progress", 1))
    expect(answered).toEqual({ call_id: id, appended: ["CallAnswered"] })
    const ended = await twilioOk(api, inbound("completed", 2, { CallDuration: "65" }))
    expect(ended).toEqual({ call_id: id, appended: ["CallEnded"] })
    expect(await getCall(api, id)).toEqual(expect.objectContaining({ status: "completed", duration_seconds: 65, direction: "inbound" }))
    const listed = expectStatus(await api.get("/v1/calls?direction=inbound"), 200, "list")
    expect(listed.data.map((c: { id: string }) => c.id)).toEqual([id])
  })

  it("a callback for an outbound call the ledger never placed is 404 and writes nothing", async () => {
    const position = await api.position()
    const response = await api.twilio(twilioStatus(newCallSid(), "initiated", 0))
    expect(response.status, response.text).toBe(404)
    expect(response.body).toEqual(expect.objectContaining({ _tag: "CallNotFound" }))
    expect(await api.position()).toBe(position)
  })

  it("a signed callback with a malformed CallSid is 400 naming the field", async () => {
    const id = await newCall()
    const position = await api.position()
    const response = await api.twilio({ ...twilioStatus(newCallSid(), "initiated", 0), CallSid: "not-a-sid" }, { callId: id })
    expect(response.status, response.text).toBe(400)
    expect(response.body).toEqual(expect.objectContaining({ _tag: "InvalidRequest", field: "CallSid" }))
    expect(await api.position()).toBe(position)
  })
})

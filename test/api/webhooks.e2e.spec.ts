/**
 * Webhooks as a subscriber sees them: an endpoint registered with `POST /v1/webhooks/endpoints`
 * gets exactly one `call.completed` per ended call, signed so that the real `standardwebhooks`
 * `Webhook.verify` accepts it, whose `data` is the call record `GET /v1/calls/{id}` shows.
 */
import { afterEach, describe, expect, it } from "vitest"
import { expectStatus, getCall, placeCall, reportOk, seed001Segments, twilioLifecycle, twilioOk } from "../fixtures/callDriver.js"
import type { Json } from "../fixtures/ledgerClient.js"
import { newCallSid, twilioStatus } from "../fixtures/ledgerClient.js"
import { eventually, serviceForSpecFile } from "../fixtures/ledgerServer.js"
import { startTestWebhookReceiver, verifyWebhook } from "../fixtures/webhookReceiver.js"
import type { ReceivedRequest, TestWebhookReceiver } from "../fixtures/webhookReceiver.js"

const { api } = serviceForSpecFile()
const receivers: Array<TestWebhookReceiver> = []

afterEach(async () => {
  for (const receiver of receivers.splice(0)) await receiver.close()
})

const receiver = async () => {
  const r = await startTestWebhookReceiver(() => 204)
  receivers.push(r)
  return r
}

const register = async (url: string, eventTypes?: Array<string>): Promise<Json> =>
  expectStatus(
    await api.post("/v1/webhooks/endpoints", { url, description: "e2e receiver", ...(eventTypes === undefined ? {} : { event_types: eventTypes }) }),
    201,
    "POST /v1/webhooks/endpoints"
  )

const forCall = (r: TestWebhookReceiver, callId: string): Array<ReceivedRequest> =>
  r.requests.filter((req) => {
    try {
      return (JSON.parse(req.body) as Json).data?.id === callId
    } catch {
      return false
    }
  })

const settle = () => new Promise((resolve) => setTimeout(resolve, 400))

describe("call.completed webhooks", () => {
  it("one call.completed per ended call, verified by standardwebhooks, with the call record as data", async () => {
    const r = await receiver()
    const endpoint = await register(r.url, ["call.completed"])
    expect(endpoint).toEqual(expect.objectContaining({
      id: expect.stringMatching(/^ep_/), url: r.url, secret: expect.stringMatching(/^whsec_/), event_types: ["call.completed"], enabled: true
    }))

    const id = (await placeCall(api, { phone: "+919876543210", name: "Priya Sharma", campaign_id: "cmp_hooks", language: "hi-IN" })).id as string
    const sid = newCallSid()
    await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
    await twilioOk(api, twilioStatus(sid, "ringing", 1), id)
    await twilioOk(api, twilioStatus(sid, "in-progress", 2, { AnsweredBy: "human" }), id)
    await reportOk(api, id, { type: "transcribed", segments: seed001Segments, final: true, job_id: "job_2Kn7wR4pM" })
    await reportOk(api, id, { type: "transferred", target: "sales_specialist" })
    await reportOk(api, id, { type: "dispositioned", disposition: "escalated", sentiment: "positive" })
    await settle()
    expect(forCall(r, id), "nothing before the call ends").toEqual([])

    await twilioOk(api, twilioStatus(sid, "completed", 3, { CallDuration: "142" }), id)
    const record = await getCall(api, id)
    const [first] = await eventually(() => (forCall(r, id).length > 0 ? forCall(r, id) : undefined), "the call.completed webhook")
    // Events after the end raise no second call.completed.
    await reportOk(api, id, { type: "recording", recording_url: "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE2.mp3" })
    await settle()
    expect(forCall(r, id)).toHaveLength(1)

    const webhook = first!
    expect(webhook.headers["content-type"]).toMatch(/application\/json/)
    expect(webhook.headers["webhook-id"]).toMatch(/^msg_/)
    expect(Math.abs(Number(webhook.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60)
    expect(webhook.headers["webhook-signature"]).toMatch(/^v1,/)
    const payload = verifyWebhook(endpoint.secret, webhook)
    expect(payload.type).toBe("call.completed")
    expect(Number.isNaN(Date.parse(payload.timestamp))).toBe(false)
    expect(payload.data).toEqual(record)
    expect(payload.data).toEqual(expect.objectContaining({ id, status: "completed", disposition: "escalated", duration_seconds: 142 }))

    // The signature really is checked: another secret, or a changed body, do not verify.
    const other = await register(`${r.url}/other`, ["call.answered"])
    expect(() => verifyWebhook(other.secret, webhook)).toThrow()
    expect(() => verifyWebhook(endpoint.secret, { ...webhook, body: webhook.body.replace("escalated", "interested") })).toThrow()
  })

  it("a call.completed goes out as soon as its call ends, not at the dispatcher's next look at the outbox (every second)", async () => {
    const r = await receiver()
    await register(r.url, ["call.completed"])
    const latencies: Array<number> = []
    for (let i = 0; i < 5; i++) {
      const id = (await placeCall(api, { phone: "+919876543210", name: "Priya Sharma", campaign_id: "cmp_prompt" })).id as string
      const sid = newCallSid()
      await twilioOk(api, twilioStatus(sid, "initiated", 0), id)
      await twilioOk(api, twilioStatus(sid, "in-progress", 1, { AnsweredBy: "human" }), id)
      // Ends spread over the dispatcher's poll: without a wake-up, most would wait for the next one.
      await new Promise((resolve) => setTimeout(resolve, 230))
      const ended = performance.now()
      await twilioOk(api, twilioStatus(sid, "completed", 2, { CallDuration: "30" }), id)
      await eventually(() => (forCall(r, id).length > 0 ? true : undefined), "the call.completed webhook", 15_000, 5)
      latencies.push(performance.now() - ended)
    }
    latencies.sort((a, b) => a - b)
    // Without the wake-up each waits ~750 ms: the poll after the previous webhook, 1 s apart.
    expect(latencies[2], `median of ${latencies.map((l) => l.toFixed(0)).join(", ")} ms`).toBeLessThan(500)
  })

  it("calls that end without an answer get theirs too; other event types go only to their subscribers", async () => {
    const completedOnly = await receiver()
    const answeredOnly = await receiver()
    const a = await register(completedOnly.url)
    expect(a.event_types).toEqual(["call.completed"])
    const b = await register(answeredOnly.url, ["call.answered"])

    const ids: Array<string> = []
    for (const outcome of ["no-answer", "failed", "connected"] as const) {
      const id = (await placeCall(api, { to: "+918888888888", campaign_id: "cmp_hooks_many" })).id as string
      await twilioLifecycle(api, id, outcome, 30)
      ids.push(id)
    }
    await eventually(() => (ids.every((id) => forCall(completedOnly, id).length > 0) ? true : undefined), "a call.completed for each call")
    await eventually(() => (forCall(answeredOnly, ids[2]!).length > 0 ? true : undefined), "call.answered of the answered call")
    await settle()
    for (const id of ids) {
      const got = forCall(completedOnly, id)
      expect(got).toHaveLength(1)
      const payload = verifyWebhook(a.secret, got[0]!)
      expect(payload.type).toBe("call.completed")
      expect(payload.data).toEqual(await getCall(api, id))
    }
    expect(answeredOnly.requests).toHaveLength(1)
    const answered = verifyWebhook(b.secret, answeredOnly.requests[0]!)
    expect(answered.type).toBe("call.answered")
    expect(answered.data.id).toBe(ids[2])
  })

  it("endpoints are listed, fetched and deleted; a deleted endpoint gets nothing more; a bad URL is a 400", async () => {
    const r = await receiver()
    const endpoint = await register(r.url)
    const listed = expectStatus(await api.get("/v1/webhooks/endpoints"), 200, "list endpoints")
    expect(listed.data.map((e: Json) => e.id)).toContain(endpoint.id)
    expect(expectStatus(await api.get(`/v1/webhooks/endpoints/${endpoint.id}`), 200, "get endpoint")).toEqual(endpoint)
    expect((await api.get("/v1/webhooks/endpoints/ep_unknown")).status).toBe(404)

    expect((await api.delete(`/v1/webhooks/endpoints/${endpoint.id}`)).status).toBe(204)
    const id = (await placeCall(api, { to: "+918888888888" })).id as string
    await twilioLifecycle(api, id, "no-answer")
    await settle()
    expect(forCall(r, id)).toEqual([])

    const bad = await api.post("/v1/webhooks/endpoints", { url: "ftp://example.com/hook" })
    expect(bad.status, bad.text).toBe(400)
    expect(bad.body).toEqual(expect.objectContaining({ _tag: "InvalidRequest", field: "url" }))
    const badType = await api.post("/v1/webhooks/endpoints", { url: r.url, event_types: ["call.exploded"] })
    expect(badType.status, badType.text).toBe(400)
    expect(badType.body).toEqual(expect.objectContaining({ _tag: "InvalidRequest", field: "event_types" }))
  })
})

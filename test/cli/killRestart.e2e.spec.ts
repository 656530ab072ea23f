/**
 * Crash safety of the real service process: `call-ledger serve` is started as a child process,
 * calls end while their `call.completed` webhooks cannot get through (the receiver answers 500,
 * then hangs), the service is killed with SIGKILL, started again on the same SQLite file, and once
 * the receiver answers 204 every webhook arrives, verified, with the `webhook-id` it had before
 * the kill; every call is still there and nothing was appended twice. Also: `GET /openapi.json`
 * of the running service lists every route of the API definition.
 */
import { HttpApi } from "@effect/platform"
import { afterEach, describe, expect, it } from "vitest"
import { CallLedgerApi } from "../../src/api/callsApi.js"
import { expectStatus, getCall, placeCall, reportOk, twilioLifecycle } from "../fixtures/callDriver.js"
import type { Json } from "../fixtures/ledgerClient.js"
import { ledgerClient } from "../fixtures/ledgerClient.js"
import { startServeProcess } from "../fixtures/ledgerProcess.js"
import type { CliProcess } from "../fixtures/ledgerProcess.js"
import { eventually, freePort, startLedgerServer, tempFolder, testTwilioAuthToken } from "../fixtures/ledgerServer.js"
import { startTestWebhookReceiver, verifyWebhook } from "../fixtures/webhookReceiver.js"
import type { TestWebhookReceiver } from "../fixtures/webhookReceiver.js"

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const serve = async (dbPath: string, port: number): Promise<CliProcess & { url: string }> => {
  const service = await startServeProcess({
    dbPath,
    port,
    extraArgs: ["--webhook-retry-schedule", "200,200,200,200,200", "--twilio-auth-token", testTwilioAuthToken]
  })
  cleanups.push(() => service.kill("SIGKILL"))
  return service
}

const callIdOf = (body: string): string | undefined => {
  try {
    return (JSON.parse(body) as Json).data?.id as string | undefined
  } catch {
    return undefined
  }
}

describe("kill -9 and restart", () => {
  it("every pending call.completed arrives after the restart, verified, with its webhook-id from before the kill", async () => {
    const folder = tempFolder("call-ledger-kill-")
    cleanups.push(folder.remove)
    const dbPath = `${folder.path}/ledger.db`
    const port = await freePort()

    // First attempt of each webhook: 500; later ones: no answer at all (in flight at the kill).
    const receiver: TestWebhookReceiver = await startTestWebhookReceiver(({ attempt }) => (attempt === 1 ? 500 : "hang"))
    cleanups.push(receiver.close)

    const first = await serve(dbPath, port)
    const api = ledgerClient(first.url, testTwilioAuthToken)
    const endpoint = expectStatus(
      await api.post("/v1/webhooks/endpoints", { url: receiver.url, event_types: ["call.completed"] }),
      201,
      "register endpoint"
    )

    const callCount = 6
    const callIds: Array<string> = []
    for (let i = 0; i < callCount; i++) {
      const id = (await placeCall(api, { phone: "+919876543210", name: `Caller ${i}`, campaign_id: "cmp_crash" })).id as string
      if (i % 3 === 0) await twilioLifecycle(api, id, "connected", 40 + i)
      else if (i % 3 === 1) await twilioLifecycle(api, id, "no-answer")
      else {
        await reportOk(api, id, { type: "answered" })
        await reportOk(api, id, { type: "ended", reason: "agent_hangup", duration_seconds: 12 })
      }
      callIds.push(id)
    }

    // Every call has its delivery, still pending; some attempts were refused and some hang right now.
    const pending = await eventually(async () => {
      const listed = expectStatus(await api.get(`/v1/webhooks/endpoints/${endpoint.id}/deliveries?status=pending`), 200, "deliveries")
      const hung = receiver.requests.filter((r) => r.answer === "hang").length
      return listed.data.length === callCount && hung > 0 ? (listed.data as Array<Json>) : undefined
    }, "every delivery pending and an attempt in flight")
    const deliveryIdByCall = new Map<string, string>(pending.map((d) => [d.call_id as string, d.id as string]))
    expect([...deliveryIdByCall.keys()].sort()).toEqual([...callIds].sort())
    for (const d of pending) expect(d.event_type).toBe("call.completed")
    const seenBeforeKill = receiver.requests.map((r) => ({ id: r.webhookId, callId: callIdOf(r.body) }))
    expect(seenBeforeKill.length).toBeGreaterThan(0)
    for (const seen of seenBeforeKill) expect(deliveryIdByCall.get(seen.callId!)).toBe(seen.id)
    const positionBeforeKill = await api.position()
    const recordsBeforeKill = await Promise.all(callIds.map((id) => getCall(api, id)))

    expect(await first.kill("SIGKILL")).toBe("SIGKILL")
    const requestsBeforeRestart = receiver.requests.length
    receiver.respondWith(() => 204)

    const second = await serve(dbPath, port)
    const api2 = ledgerClient(second.url, testTwilioAuthToken)
    const deliveredRequests = await eventually(() => {
      const ok = receiver.requests.slice(requestsBeforeRestart).filter((r) => r.answer === 204)
      return callIds.every((id) => ok.some((r) => callIdOf(r.body) === id)) ? ok : undefined
    }, "every call.completed after the restart", 30_000)

    for (const id of callIds) {
      const got = deliveredRequests.filter((r) => callIdOf(r.body) === id)
      expect(got, `one delivered webhook for ${id}`).toHaveLength(1)
      const webhook = got[0]!
      expect(webhook.webhookId).toBe(deliveryIdByCall.get(id))
      const payload = verifyWebhook(endpoint.secret, webhook)
      expect(payload.type).toBe("call.completed")
      expect(payload.data).toEqual(recordsBeforeKill[callIds.indexOf(id)])
    }
    // Every request ever made for a call carried that call's one webhook-id.
    for (const r of receiver.requests) expect(r.webhookId).toBe(deliveryIdByCall.get(callIdOf(r.body)!))

    const page = expectStatus(await api2.get("/v1/calls?campaign_id=cmp_crash&limit=100"), 200, "list")
    expect(page.total).toBe(callCount)
    expect(expectStatus(await api2.get("/v1/calls"), 200, "list all").total).toBe(callCount)
    for (const [i, id] of callIds.entries()) expect(await getCall(api2, id)).toEqual(recordsBeforeKill[i])
    expect(await api2.position()).toBe(positionBeforeKill)
    await eventually(async () => {
      const listed = expectStatus(await api2.get(`/v1/webhooks/endpoints/${endpoint.id}/deliveries?status=delivered`), 200, "deliveries")
      return listed.data.length === callCount ? true : undefined
    }, "every delivery marked delivered")

    // A clean stop after the restart (SIGTERM) exits.
    expect(await second.kill("SIGTERM")).not.toBe("SIGKILL")
  }, 90_000)

  it("GET /openapi.json lists every route of the API definition, and /docs serves the docs page", async () => {
    // The same `httpServerLayer` `serve` launches, in this process: a third child process would cost seconds.
    const service = await startLedgerServer()
    cleanups.push(service.stop)
    const api = ledgerClient(service.url, testTwilioAuthToken)

    const spec = expectStatus(await api.get("/openapi.json"), 200, "openapi.json")
    expect(spec.openapi).toMatch(/^3\./)
    const routes: Array<string> = []
    HttpApi.reflect(CallLedgerApi, {
      onGroup: () => undefined,
      onEndpoint: ({ endpoint }) => {
        routes.push(`${endpoint.method.toLowerCase()} ${endpoint.path.replace(/:(\w+)/g, "{$1}")}`)
      }
    })
    expect(routes.length).toBeGreaterThanOrEqual(13)
    const documented = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`))
    for (const route of routes) expect(documented, `openapi.json documents ${route}`).toContain(route)
    for (const route of [
      "get /v1/calls", "get /v1/calls/{id}", "get /v1/calls/{id}/transcript", "get /v1/calls/stats", "get /v1/calls/live",
      "post /v1/calls", "post /v1/calls/{id}/events", "post /v1/telephony/twilio/status",
      "post /v1/webhooks/endpoints", "get /v1/webhooks/endpoints", "get /v1/webhooks/endpoints/{id}",
      "delete /v1/webhooks/endpoints/{id}", "get /health"
    ]) {
      expect(documented, `openapi.json documents ${route}`).toContain(route)
    }
    const docs = await fetch(`${service.url}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toMatch(/text\/html/)
  })
})

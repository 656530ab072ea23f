/**
 * Two `call-ledger serve` processes on one EventStoreDB (the real client over gRPC to the
 * in-process test server), each with its own SQLite file: an endpoint registered through one is
 * known to the other, every `call.completed` reaches the receiver exactly once whichever
 * instance ended the call, and when the instance sending a webhook is SIGKILLed mid-request (its
 * 15 s timeout not reached, even on a loaded machine) the other one sends it after the claim's 16 s lease, with the same
 * `webhook-id`.
 */
import { Effect } from "effect"
import { EventStoreDBClient } from "@eventstore/db-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeEsdbEventStore } from "../../src/store/esdb/esdbEventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { webhookDeliveryStreamId } from "../../src/webhooks/webhookDeliveryClaims.js"
import { placeCall, twilioLifecycle } from "../fixtures/callDriver.js"
import { eventually, tempFolder } from "../fixtures/ledgerServer.js"
import { startEsdbTestServer } from "../store/esdb/esdbTestServer.js"
import type { EsdbTestServer } from "../store/esdb/esdbTestServer.js"
import { startReceiver, verifyRequest } from "../fixtures/httpReceiver.js"
import type { ReceivedRequest, Receiver } from "../fixtures/httpReceiver.js"
import { deliveriesOn, registerEndpoint, startChildInstance } from "./clusterInstances.js"
import type { ClusterInstance } from "./clusterInstances.js"

type Child = Awaited<ReturnType<typeof startChildInstance>>

let server: EsdbTestServer
let folder: ReturnType<typeof tempFolder>
let client: EventStoreDBClient
let log: EventStoreService
let a: Child
let b: Child
let receiver: Receiver
/** How the receiver answers the next requests: 204, or hang (never answer). */
let mode: "ok" | "hang" = "ok"
let endpoint: { readonly id: string; readonly secret: string }

beforeAll(async () => {
  server = await startEsdbTestServer()
  folder = tempFolder("call-ledger-cluster-")
  client = EventStoreDBClient.connectionString(server.connectionString)
  log = makeEsdbEventStore(client)
  receiver = await startReceiver(() => (mode === "hang" ? "hang" : { status: 204 }))
  ;[a, b] = await Promise.all([
    startChildInstance("a", server.connectionString, folder.path),
    startChildInstance("b", server.connectionString, folder.path)
  ])
}, 90_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await receiver?.close()
  await client?.dispose()
  await server?.stop()
  folder?.remove()
})

const completedFor = (callIds: ReadonlySet<string>): Array<ReceivedRequest> =>
  receiver.requests.filter((q) => {
    const body = JSON.parse(q.body) as { type?: string; data?: { id?: string } }
    return body.type === "call.completed" && callIds.has(body.data?.id ?? "")
  })

const endCall = async (via: ClusterInstance, i: number): Promise<string> => {
  const call = await placeCall(via.api, { to: "+919876543210", contact_name: `Caller ${i}`, campaign_id: "cmp_cluster" })
  await twilioLifecycle(via.api, call.id as string, "connected", 30 + i)
  return call.id as string
}

const claimEvents = async (deliveryId: string) =>
  (await Effect.runPromise(log.readStream(webhookDeliveryStreamId(deliveryId)))).map((e) => ({
    type: e.type,
    revision: e.revision,
    data: e.data as { readonly instance: string; readonly attempt?: number }
  }))

/** The pid in an instance name (`<host>:<pid>:<random>`). */
const pidOf = (instance: string): number => Number(instance.split(":").at(-2))

describe("two instances on one EventStoreDB", () => {
  it("an endpoint registered on A is known to B, and every call.completed arrives exactly once, whichever instance ended the call", async () => {
    endpoint = await registerEndpoint(a, receiver.url)
    const onB = await eventually(async () => {
      const response = await b.api.get(`/v1/webhooks/endpoints/${endpoint.id}`)
      return response.status === 200 ? response.body : undefined
    }, "the endpoint on B", 10_000)
    expect(onB).toMatchObject({ id: endpoint.id, url: receiver.url, secret: endpoint.secret, enabled: true })

    const calls = 10
    const callIds = new Set(await Promise.all(Array.from({ length: calls }, (_, i) => endCall(i % 2 === 0 ? a : b, i))))
    await eventually(() => (new Set(completedFor(callIds).map((q) => q.headers["webhook-id"])).size === calls ? true : undefined), "every call.completed", 20_000)
    // Both instances had every delivery and both tried; give a second send every chance to show.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    const received = completedFor(callIds)
    expect(received).toHaveLength(calls)
    expect(new Set(received.map((q) => (verifyRequest(endpoint.secret, q) as { data: { id: string } }).data.id))).toEqual(callIds)

    // Both files know every delivery as delivered: one sent it, the other learned it from the log.
    for (const instance of [a, b]) {
      const rows = await eventually(async () => {
        const all = await deliveriesOn(instance, endpoint.id)
        return all.length === calls && all.every((d) => d.status === "delivered") ? all : undefined
      }, `every delivery delivered on ${instance.name}`, 10_000)
      expect(new Set(rows.map((d) => d.id))).toEqual(new Set(received.map((q) => q.headers["webhook-id"])))
    }
    const senders = new Set<number>()
    for (const q of received) {
      const events = await claimEvents(String(q.headers["webhook-id"]))
      expect(events.map((e) => e.type)).toEqual(["DeliveryClaimed", "DeliveryCompleted"])
      senders.add(pidOf(events[0]!.data.instance))
    }
    for (const pid of senders) expect([a.pid, b.pid]).toContain(pid)
  }, 90_000)

  it("when the instance sending a webhook is killed mid-request, the other sends it after the lease, with the same webhook-id", async () => {
    mode = "hang"
    const before = receiver.requests.length
    const callId = await endCall(a, 99)
    const ids = new Set([callId])
    await eventually(() => (completedFor(ids).length === 1 ? true : undefined), "the request that hangs", 10_000)
    expect(receiver.requests.length).toBe(before + 1)
    const deliveryId = String(completedFor(ids)[0]!.headers["webhook-id"])
    const [claimed] = await claimEvents(deliveryId)
    const sender = [a, b].find((instance) => instance.pid === pidOf(claimed!.data.instance))!
    const survivor = sender === a ? b : a
    expect(sender).toBeDefined()

    await sender.kill()
    const killedAt = Date.now()
    mode = "ok"
    await eventually(() => (completedFor(ids).length === 2 ? true : undefined), "the webhook from the survivor", 40_000)
    const [first, second] = completedFor(ids)
    expect(second!.headers["webhook-id"]).toBe(deliveryId)
    expect(verifyRequest(endpoint.secret, second!)).toMatchObject({ type: "call.completed", data: { id: callId } })
    expect(Number(second!.headers["webhook-timestamp"])).toBeGreaterThanOrEqual(Number(first!.headers["webhook-timestamp"]))
    // Not before the killed instance's lease (16 s from its claim, just before its request) ran out.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(15_000)
    expect(second!.receivedAt).toBeGreaterThan(killedAt)

    // The survivor records the attempt in the log after the receiver has answered: wait for it.
    const events = await eventually(async () => {
      const read = await claimEvents(deliveryId)
      return read.length >= 3 ? read : undefined
    }, "the survivor's DeliveryCompleted", 5_000)
    expect(events.map((e) => [e.type, e.revision, pidOf(e.data.instance), e.data.attempt])).toEqual([
      ["DeliveryClaimed", 0n, sender.pid, 1],
      ["DeliveryClaimed", 1n, survivor.pid, 2],
      ["DeliveryCompleted", 2n, survivor.pid, 2]
    ])
    const row = await eventually(async () => {
      const detail = await survivor.api.get(`/v1/webhooks/deliveries/${deliveryId}`)
      return detail.body?.status === "delivered" ? detail.body : undefined
    }, "delivered on the survivor", 5_000)
    expect(row).toMatchObject({ attempt_count: 2, attempts: [{ attempt: 2, status_code: 204 }] })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(completedFor(ids)).toHaveLength(2)
  }, 90_000)
})

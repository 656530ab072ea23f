/**
 * Webhook delivery throughput and head-of-line isolation, over loopback.
 *
 * - Throughput, deliveries/s: the dispatcher (durable outbox rows, a p-queue per endpoint under a
 *   global cap, signed per attempt, each attempt recorded in a transaction) sending `call.completed`
 *   bodies of simulated calls to 8 healthy receivers, against bare got + p-queue (same global
 *   concurrency) posting the same signed bodies (the limit).
 * - Isolation: the healthy endpoints' deliveries/s while a 9th endpoint never answers (each attempt
 *   runs into its timeout), against the same without it.
 * After an untimed warm-up the three take turns over three rounds.
 * - A wake-up among many endpoints, ms: the dispatcher's look at the tables after new deliveries
 *   (`tick` and `nextDueInMillis`) with 1,000 enabled endpoints of which 8 have a retry pending,
 *   against the same with the 8 alone, so a cost that grows with the endpoints subscribed shows.
 * - An outbox event among many endpoints, µs: the outbox projection's `apply` of the simulated
 *   calls' events with 1,000 enabled endpoints that take none of them, against 8 such endpoints.
 */
import got from "got"
import PQueue from "p-queue"
import http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { callStreamId } from "../src/domain/callEvents.js"
import type { RecordedEvent } from "../src/store/eventStore.js"
import { sequencePosition } from "../src/store/position.js"
import { openSqliteDatabase } from "../src/store/sqlite/sqliteDatabase.js"
import { makeWebhookDispatcher, startWebhookDispatcher } from "../src/webhooks/webhookDispatcher.js"
import { webhookBody, webhookOutboxProjection } from "../src/webhooks/webhookOutbox.js"
import { signWebhook } from "../src/webhooks/webhookSigning.js"
import { defaultMaxConcurrency } from "../src/webhooks/deliveryConcurrency.js"
import { ensureWebhookTables } from "../src/webhooks/webhookTables.js"
import type { BenchContext, BenchFigure, BenchRow } from "./benchTypes.js"
import { freshDir, inRounds, latencyRow, RoundTotals, scaled, since, throughputRow } from "./benchTypes.js"
import { simulatedCalls } from "./dataset.js"
import type { SimulatedCall } from "./dataset.js"
import { decidedEvents } from "./ledgerRows.js"

const healthyEndpoints = 8
/** The dispatcher's own defaults (16 per endpoint under 128 in all); bare got + p-queue gets the same 128. */
const globalConcurrency = defaultMaxConcurrency
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

interface Receiver {
  readonly url: string
  readonly close: () => Promise<void>
}

/** A loopback receiver answering 204 to every POST, or never answering (`dead`). */
const startReceiver = (dead = false): Promise<Receiver> =>
  new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      req.resume()
      if (dead) return
      req.on("end", () => {
        res.statusCode = 204
        res.end()
      })
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/hooks`,
        close: () => new Promise((r) => {
          server.closeAllConnections()
          server.close(() => r())
        })
      })
    })
  })

/** `call.completed` bodies of simulated calls: the ended call's data, as the outbox writes it. */
const bodiesOf = (count: number): Array<string> =>
  [...simulatedCalls(count, { startMillis: Date.parse("2025-04-01T00:00:00Z") })].map((call) => {
    const events = decidedEvents(call)
    const view: Record<string, unknown> = {}
    for (const { event } of events) Object.assign(view, event.data)
    return webhookBody("call.completed", String(view["at"]), view)
  })

/** Timed rounds; each sends a share of the bodies through bare got, the dispatcher, and the dispatcher with a dead endpoint. */
const rounds = 3

/** A delivery row of `call.completed` as the bench writes it. */
interface DeliveryRow {
  readonly id: string
  readonly endpointId: string
  readonly eventId: string
  readonly callId: string
  readonly body: string
  readonly status: "pending" | "delivered"
  readonly attempts: number
  readonly nextAttemptAt: number | null
  readonly createdAt: number
}

/**
 * The file at `dbPath` with the webhook tables, and inserts of enabled endpoints (signed with the
 * bench's secret, subscribed to `call.completed` unless told) and of delivery rows.
 */
const webhookTablesAt = (dbPath: string) => {
  const db = openSqliteDatabase(dbPath)
  ensureWebhookTables(db)
  const endpoint = db.prepare("INSERT INTO webhook_endpoints (id, url, secret, event_types, enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)")
  const delivery = db.prepare(
    `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, call_id, body, status, attempt_count, schedule_step, next_attempt_at, created_at)
     VALUES (?, ?, ?, 'call.completed', ?, ?, ?, ?, ?, ?, ?)`
  )
  return {
    db,
    addEndpoint: (id: string, url: string, createdAt: number, eventTypes = '["call.completed"]') => endpoint.run(id, url, secret, eventTypes, createdAt),
    addDelivery: (d: DeliveryRow) =>
      delivery.run(d.id, d.endpointId, d.eventId, d.callId, d.body, d.status, d.attempts, d.attempts, d.nextAttemptAt, d.createdAt)
  }
}

/** Runs the dispatcher over `bodies` to each of `urls` (and `deadUrl`); healthy deliveries and the ms they took. */
const runDispatcher = async (dbPath: string, bodies: ReadonlyArray<string>, urls: ReadonlyArray<string>, deadUrl: string | null) => {
  const { addDelivery, addEndpoint, db } = webhookTablesAt(dbPath)
  const now = Date.now()
  const all = deadUrl === null ? urls : [...urls, deadUrl]
  db.transaction(() => {
    all.forEach((url, e) => {
      addEndpoint(`ep_${e}`, url, now)
      bodies.forEach((body, i) => addDelivery({
        id: `msg_${e}_${i}`, endpointId: `ep_${e}`, eventId: `evt_${i}`, callId: `cal_${i}`, body, status: "pending", attempts: 0, nextAttemptAt: now, createdAt: now
      }))
    })
  })()
  const healthy = urls.length * bodies.length
  let delivered = 0
  let resolveDone: () => void = () => {}
  const done = new Promise<void>((r) => {
    resolveDone = r
  })
  const start = performance.now()
  const dispatcher = startWebhookDispatcher(db, {
    maxConcurrency: globalConcurrency,
    timeoutMillis: 2_000,
    requestFiltering: { allowLoopback: true },
    onAttempt: (outcome) => {
      if (outcome.status === "delivered" && ++delivered === healthy) resolveDone()
    }
  })
  await done
  const elapsed = since(start)
  await dispatcher.stop()
  db.close()
  return { count: healthy, millis: elapsed }
}

/** Bare got + p-queue posting the same signed bodies to the same receivers; deliveries and the ms they took. */
const runBare = async (bodies: ReadonlyArray<string>, urls: ReadonlyArray<string>) => {
  const agent = new http.Agent({ keepAlive: true })
  const queue = new PQueue({ concurrency: globalConcurrency })
  const start = performance.now()
  urls.forEach((url, e) =>
    bodies.forEach((body, i) =>
      void queue.add(async () => {
        const response = await got.post(url, {
          body,
          headers: { "content-type": "application/json", ...signWebhook(`msg_${e}_${i}`, Date.now(), body, [secret]) },
          retry: { limit: 0 },
          throwHttpErrors: false,
          followRedirect: false,
          agent: { http: agent }
        })
        if (response.statusCode !== 204) throw new Error(`bare post: ${response.statusCode}`)
      })))
  await queue.onIdle()
  const elapsed = since(start)
  agent.destroy()
  return { count: urls.length * bodies.length, millis: elapsed }
}

/**
 * Mean ms of a wake-up's look at the tables (`tick` and `nextDueInMillis`, nothing due) with
 * `endpoints` enabled endpoints, each with 20 delivered deliveries, and a retry pending in the
 * first `pending` of them an hour from now.
 */
const wakeUpMillis = (dbPath: string, endpoints: number, pending: number, wakeUps: number): number => {
  const { addDelivery, addEndpoint, db } = webhookTablesAt(dbPath)
  const now = Date.now()
  const row = { body: "{}", attempts: 1, createdAt: now } as const
  db.transaction(() => {
    for (let e = 0; e < endpoints; e++) {
      const endpointId = `ep_${e}`
      addEndpoint(endpointId, "http://127.0.0.1:9/", now)
      for (let i = 0; i < 20; i++) {
        addDelivery({ ...row, id: `msg_${e}_${i}`, endpointId, eventId: `evt_${i}`, callId: `cal_${i}`, status: "delivered", nextAttemptAt: null })
      }
      if (e < pending) {
        addDelivery({ ...row, id: `msg_${e}_retry`, endpointId, eventId: "evt_retry", callId: "cal_retry", status: "pending", nextAttemptAt: now + 3_600_000 })
      }
    }
  })()
  db.exec("ANALYZE")
  const engine = makeWebhookDispatcher(db, {})
  const start = performance.now()
  for (let i = 0; i < wakeUps; i++) {
    engine.wake()
    engine.tick()
    engine.nextDueInMillis()
  }
  const elapsed = since(start)
  void engine.stop().then(() => db.close())
  return elapsed / wakeUps
}

/**
 * The outbox projection over `endpoints` enabled endpoints subscribed only to `call.transferred`
 * (which the events of `calls` do not raise, so it writes nothing and the cost is the look at the
 * endpoints): `pass` applies every webhook-source event of `calls` in one transaction and returns
 * the ms it took. An untimed pass has run, so the endpoints were read once already.
 */
const outboxOver = (dbPath: string, endpoints: number, calls: ReadonlyArray<SimulatedCall>) => {
  const { addEndpoint, db } = webhookTablesAt(dbPath)
  db.transaction(() => {
    for (let e = 0; e < endpoints; e++) addEndpoint(`ep_${e}`, "http://127.0.0.1:9/", 0, '["call.transferred"]')
  })()
  const outbox = webhookOutboxProjection({ loadCallView: () => null })(db)
  const recordedAt = new Date().toISOString()
  const events = calls.flatMap((call) => decidedEvents(call))
    .filter(({ event }) => outbox.eventTypes.has(event.type) && event.type !== "CallTransferred")
    .map(({ event, commandId }, i): RecordedEvent => ({
      eventId: `evt_${i}`, streamId: callStreamId(event.data.callId), revision: 0n, position: sequencePosition(i + 1),
      type: event.type, data: event.data, metadata: { schemaVersion: 1, commandId, correlationId: commandId, causationId: null, occurredAt: recordedAt, recordedAt }
    }))
  const applyAll = db.transaction(() => {
    for (const event of events) outbox.apply(event)
  })
  applyAll()
  return {
    events: events.length,
    pass: (): number => {
      const start = performance.now()
      applyAll()
      return since(start)
    },
    close: () => db.close()
  }
}

/** Mean µs per event of the outbox among 1,000 endpoints and among `few`, their passes taking turns (ten each). */
const outboxEventMicros = (dir: string, few: number, calls: ReadonlyArray<SimulatedCall>) => {
  const sides = [outboxOver(join(dir, "outbox-many.db"), 1_000, calls), outboxOver(join(dir, "outbox-few.db"), few, calls)] as const
  const millis = [0, 0]
  const passes = 10
  for (let pass = 0; pass < passes; pass++) sides.forEach((side, i) => millis[i]! += side.pass())
  for (const side of sides) side.close()
  const [many, fewMillis] = millis.map((ms) => (ms * 1000) / (sides[0].events * passes)) as [number, number]
  return { many, few: fewMillis }
}

export const webhookDelivery: BenchFigure = {
  name: "webhook delivery",
  run: async (context: BenchContext): Promise<ReadonlyArray<BenchRow>> => {
    const dir = freshDir(context, "webhooks")
    const perEndpoint = scaled(context, 1_500, 20)
    const bodies = bodiesOf(perEndpoint)
    const receivers = await Promise.all(Array.from({ length: healthyEndpoints }, () => startReceiver()))
    const dead = await startReceiver(true)
    try {
      const urls = receivers.map((r) => r.url)
      context.log(`webhooks: ${perEndpoint} deliveries to each of ${healthyEndpoints} endpoints, in ${rounds} rounds after a warm-up`)
      // Warm-up, untimed: got, the HTTP agent and the dispatcher's path compiled before any round.
      const warmUp = bodies.slice(0, Math.ceil(bodies.length * 0.05))
      await runBare(warmUp, urls)
      await runDispatcher(join(dir, "warm-up.db"), warmUp, urls, null)
      // The three sides take turns (one after the other, ours swung from 0.72 to 1.13 of bare).
      const totals = { bare: new RoundTotals(), ours: new RoundTotals(), withDead: new RoundTotals() }
      for (const [r, round] of inRounds(bodies, rounds).entries()) {
        totals.bare.add(await runBare(round, urls))
        totals.ours.add(await runDispatcher(join(dir, `healthy-${r}.db`), round, urls, null))
        totals.withDead.add(await runDispatcher(join(dir, `dead-${r}.db`), round, urls, dead.url))
      }
      const [bare, ours, withDead] = [totals.bare.perSecond(), totals.ours.perSecond(), totals.withDead.perSecond()]
      const wakeUps = scaled(context, 2_000, 50)
      wakeUpMillis(join(dir, "wake-warm-up.db"), healthyEndpoints, healthyEndpoints, wakeUps)
      const manyEndpoints = wakeUpMillis(join(dir, "wake-many.db"), 1_000, healthyEndpoints, wakeUps)
      const fewEndpoints = wakeUpMillis(join(dir, "wake-few.db"), healthyEndpoints, healthyEndpoints, wakeUps)
      const outboxCalls = [...simulatedCalls(scaled(context, 1_000, 10))]
      const outboxAmong = outboxEventMicros(dir, healthyEndpoints, outboxCalls)
      const note = `${perEndpoint * healthyEndpoints} deliveries to ${healthyEndpoints} endpoints, global concurrency ${globalConcurrency}`
      return [
        throughputRow({
          figure: "webhook delivery throughput", unit: "deliveries/s", ours,
          beside: "bare got + p-queue, same signed bodies", besideValue: bare, target: ">= 0.8 of bare", note
        }, (_, ratio) => ratio !== null && ratio >= 0.8),
        throughputRow({
          figure: "head-of-line isolation (healthy deliveries/s, one endpoint dead)", unit: "deliveries/s", ours: withDead,
          beside: "same without the dead endpoint", besideValue: ours, target: ">= 0.9", note: `${note}; the dead one never answers (2 s timeout)`
        }, (_, ratio) => ratio !== null && ratio >= 0.9),
        latencyRow({
          figure: "dispatcher wake-up among 1,000 endpoints, 8 with a retry pending", unit: "ms", ours: manyEndpoints,
          beside: "the same 8 endpoints alone", besideValue: fewEndpoints, target: ">= 0.5 (own row)",
          note: `mean of ${wakeUps} wake-ups (tick + next due), nothing due; 20 delivered deliveries per endpoint`
        }, (_, ratio) => ratio !== null && ratio >= 0.5),
        latencyRow({
          figure: "outbox event among 1,000 endpoints, none taking it", unit: "µs", ours: outboxAmong.many,
          beside: "the same among 8 endpoints", besideValue: outboxAmong.few, target: ">= 0.25 (own row)",
          // Under a µs an event either way, so the ratio swings (0.56 to 1.34 in three runs); a cost per
          // endpoint and event, the regression this row is for, gave 0.01.
          note: `mean apply of the events of ${outboxCalls.length} simulated calls the webhooks are raised from, ten passes each, taking turns`
        }, (_, ratio) => ratio !== null && ratio >= 0.25)
      ]
    } finally {
      await Promise.all([...receivers, dead].map((r) => r.close()))
    }
  }
}

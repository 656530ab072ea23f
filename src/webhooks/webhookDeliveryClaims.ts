/**
 * Webhook deliveries shared by several instances on one store, through the log itself: a claim by
 * expected revision on the delivery's own stream, `webhook-delivery-<deliveryId>` (DESIGN.md,
 * "Webhooks"; docs/eventstoredb.md, "Webhook work across instances").
 *
 * Every instance's outbox writes the same deliveries (same ids), and every dispatcher asks
 * `claim` before an attempt:
 * - It reads the stream. Empty, reopened, a retry that is due, or a claim whose lease has run
 *   out: it appends `DeliveryClaimed{instance, attempt, leaseUntil}` expecting exactly the
 *   revision it read (`no_stream` for the first), and sends if the append succeeds. Two instances
 *   racing both expect the same revision; the store lets one through and the other gets
 *   `WrongExpectedRevision`, which is `Busy`.
 * - A live claim by another instance is `Busy` until its lease ends (asking again every
 *   `recheckMillis`, to learn an early outcome).
 * - `DeliveryCompleted` (delivered, or given up) or a pending retry (`DeliveryAttemptFailed` with
 *   a later `nextAttemptAt`) is `Elsewhere`: the local row takes that state, nothing is sent.
 * After the attempt is recorded, `completed` appends its outcome expecting the claim's revision;
 * a conflict there means the lease ran out and another instance took over (at-least-once).
 *
 * Claim event ids are random, never derived from the delivery: two instances' claims must not look
 * like one idempotent retry to the store. Instants are ISO-8601 UTC in the events.
 */
import { hostname } from "node:os"
import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { schemaVersion } from "../store/callCommandHandler.js"
import { WrongExpectedRevision } from "../store/eventStore.js"
import type { EventStoreService, ExpectedRevision, RecordedEvent } from "../store/eventStore.js"
import type { WebhookDeliveryStatus } from "./webhookDeliveries.js"
import type { ClaimDecision, DeliveryClaim, SharedAttempt, SharedDeliveryState, WebhookAttemptOutcome } from "./webhookDispatcher.js"

/** Prefix of every delivery claim stream (not followed by the projections). */
export const webhookDeliveryStreamPrefix = "webhook-delivery-"

/** The claim stream of one delivery. */
export const webhookDeliveryStreamId = (deliveryId: string): string => `${webhookDeliveryStreamPrefix}${deliveryId}`

/** The attempt as the events carry it. */
export interface DeliveryAttemptData {
  readonly attempt: number
  readonly startedAt: string
  readonly durationMs: number
  readonly statusCode: number | null
  readonly error: string | null
  readonly responseSnippet: string | null
  /** Attempts since the retry schedule (re)started, this one included. */
  readonly scheduleStep: number
}

/** An instance took the delivery for attempt `attempt` until `leaseUntil`. */
export interface DeliveryClaimedData {
  readonly deliveryId: string
  readonly endpointId: string
  readonly instance: string
  readonly attempt: number
  readonly leaseUntil: string
}

/** The claimed attempt failed; the next one is due at `nextAttemptAt` (any instance may claim it then). */
export interface DeliveryAttemptFailedData extends DeliveryAttemptData {
  readonly deliveryId: string
  readonly instance: string
  readonly nextAttemptAt: string
}

/** The delivery is settled: `delivered`, or `failed` (schedule exhausted, 410) or `canceled` (endpoint disabled meanwhile). */
export interface DeliveryCompletedData extends DeliveryAttemptData {
  readonly deliveryId: string
  readonly instance: string
  readonly status: Exclude<WebhookDeliveryStatus, "pending">
}

/** A manual redelivery: the delivery is open again, its retry schedule started afresh. */
export interface DeliveryReopenedData {
  readonly deliveryId: string
  readonly instance: string
  readonly at: string
}

export type DeliveryClaimEvent =
  | { readonly type: "DeliveryClaimed"; readonly data: DeliveryClaimedData }
  | { readonly type: "DeliveryAttemptFailed"; readonly data: DeliveryAttemptFailedData }
  | { readonly type: "DeliveryCompleted"; readonly data: DeliveryCompletedData }
  | { readonly type: "DeliveryReopened"; readonly data: DeliveryReopenedData }

/** Where a claim stream stands. */
export interface DeliveryClaimState {
  /** Revision of the last event; null when the stream is empty. */
  readonly revision: bigint | null
  readonly phase: "open" | "claimed" | "retrying" | "settled"
  /** Claims so far: the number of the last attempt started. */
  readonly claims: number
  readonly instance: string | null
  /** `claimed`: when the lease ends, ms. */
  readonly leaseUntil: number
  /** `retrying`: when the next attempt is due, ms. */
  readonly nextAttemptAt: number
  readonly scheduleStep: number
  /** `settled`: how, and when, ms. */
  readonly status: Exclude<WebhookDeliveryStatus, "pending"> | null
  readonly settledAt: number | null
  readonly attempts: ReadonlyArray<SharedAttempt>
}

const initial: DeliveryClaimState = {
  revision: null, phase: "open", claims: 0, instance: null, leaseUntil: 0, nextAttemptAt: 0, scheduleStep: 0,
  status: null, settledAt: null, attempts: []
}

const sharedAttempt = (d: DeliveryAttemptData): SharedAttempt => ({
  attempt: d.attempt,
  startedAt: Date.parse(d.startedAt),
  durationMs: d.durationMs,
  statusCode: d.statusCode,
  error: d.error,
  responseSnippet: d.responseSnippet
})

/** One event applied to the state. */
export const evolveDeliveryClaim = (state: DeliveryClaimState, event: DeliveryClaimEvent, revision: bigint): DeliveryClaimState => {
  switch (event.type) {
    case "DeliveryClaimed":
      return {
        ...state, revision, phase: "claimed", claims: Math.max(state.claims, event.data.attempt),
        instance: event.data.instance, leaseUntil: Date.parse(event.data.leaseUntil)
      }
    case "DeliveryAttemptFailed":
      return {
        ...state, revision, phase: "retrying", instance: event.data.instance, nextAttemptAt: Date.parse(event.data.nextAttemptAt),
        scheduleStep: event.data.scheduleStep, attempts: [...state.attempts, sharedAttempt(event.data)]
      }
    case "DeliveryCompleted": {
      const attempt = sharedAttempt(event.data)
      return {
        ...state, revision, phase: "settled", instance: event.data.instance, scheduleStep: event.data.scheduleStep,
        status: event.data.status, settledAt: attempt.startedAt + attempt.durationMs, attempts: [...state.attempts, attempt]
      }
    }
    case "DeliveryReopened":
      return { ...state, revision, phase: "open", instance: event.data.instance, scheduleStep: 0, status: null, settledAt: null }
  }
}

const claimEventTypes: ReadonlySet<string> = new Set(["DeliveryClaimed", "DeliveryAttemptFailed", "DeliveryCompleted", "DeliveryReopened"])

/** A claim stream's state. */
export const foldDeliveryClaim = (events: ReadonlyArray<RecordedEvent>): DeliveryClaimState =>
  events.reduce(
    (state, e) => (claimEventTypes.has(e.type) ? evolveDeliveryClaim(state, { type: e.type, data: e.data } as DeliveryClaimEvent, e.revision) : { ...state, revision: e.revision }),
    initial
  )

/** The state for a local row to copy. */
const sharedState = (state: DeliveryClaimState): SharedDeliveryState => ({
  status: state.status ?? "pending",
  attemptCount: state.claims,
  scheduleStep: state.scheduleStep,
  nextAttemptAt: state.phase === "retrying" ? state.nextAttemptAt : null,
  deliveredAt: state.status === "delivered" ? state.settledAt : null,
  attempts: state.attempts
})

export interface SharedDeliveryClaimsOptions {
  /** This instance's name in the claims (default `<hostname>:<pid>:<random>`). */
  readonly instance?: string | undefined
  /**
   * How long a claim holds, ms. It must cover an attempt (the request timeout) and recording its
   * outcome, with room for clock differences between instances; another instance takes the
   * delivery over once it has run out (an instance killed mid-delivery).
   */
  readonly leaseMillis: number
  /** How often a delivery held elsewhere is read again, to learn its outcome early (default 1 s). */
  readonly recheckMillis?: number | undefined
  /** The clock, ms since the epoch (default Date.now). */
  readonly now?: (() => number) | undefined
}

/** The dispatcher hooks (`claim`, `completed`, `reopen`) over the store. */
export interface SharedDeliveryClaims {
  readonly instance: string
  readonly claim: (delivery: DeliveryClaim) => Promise<ClaimDecision>
  readonly completed: (outcome: WebhookAttemptOutcome) => Promise<void>
  readonly reopen: (deliveryId: string) => Promise<void>
}

/**
 * The default lease: the request timeout plus 20 s, room for recording the outcome (the
 * EventStoreDB adapter retries a failing append for about 15 s) and for clocks a little apart.
 */
export const defaultClaimLeaseMillis = (requestTimeoutMillis: number): number => requestTimeoutMillis + 20_000

/** The default instance name: host, process and a random part (a restarted process is a new instance). */
export const defaultInstanceName = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

const maxReopenConflicts = 10

/** Claims shared through `store`. Store failures reject (the dispatcher logs them and tries again later). */
export const makeSharedDeliveryClaims = (store: EventStoreService, options: SharedDeliveryClaimsOptions): SharedDeliveryClaims => {
  const instance = options.instance ?? defaultInstanceName()
  const lease = options.leaseMillis
  const recheck = options.recheckMillis ?? 1_000
  const now = options.now ?? Date.now
  /** Revision of this instance's claim, per delivery, until its outcome is appended. */
  const held = new Map<string, bigint>()

  const read = (deliveryId: string) =>
    Effect.runPromise(store.readStream(webhookDeliveryStreamId(deliveryId)).pipe(Effect.orDie)).then(foldDeliveryClaim)

  const append = (deliveryId: string, event: DeliveryClaimEvent, expected: ExpectedRevision) => {
    const at = new Date(now()).toISOString()
    const commandId = randomUUID()
    return store.appendToStream(webhookDeliveryStreamId(deliveryId), [{
      eventId: randomUUID(),
      type: event.type,
      data: event.data,
      metadata: { schemaVersion, commandId, correlationId: deliveryId, causationId: null, occurredAt: at, recordedAt: at }
    }], expected).pipe(
      Effect.catchTag("StreamDeleted", (e) => Effect.die(e)),
      Effect.map((r) => r.nextExpectedRevision)
    )
  }

  const claim = async (delivery: DeliveryClaim): Promise<ClaimDecision> => {
    const state = await read(delivery.deliveryId)
    const at = now()
    if (state.phase === "settled") return { _tag: "Elsewhere", state: sharedState(state) }
    if (state.phase === "claimed" && state.leaseUntil > at) return { _tag: "Busy", until: Math.min(state.leaseUntil, at + recheck) }
    if (state.phase === "retrying" && state.nextAttemptAt > at) return { _tag: "Elsewhere", state: sharedState(state) }
    const attempt = state.claims + 1
    const claimed: DeliveryClaimEvent = {
      type: "DeliveryClaimed",
      data: { deliveryId: delivery.deliveryId, endpointId: delivery.endpointId, instance, attempt, leaseUntil: new Date(at + lease).toISOString() }
    }
    const result = await Effect.runPromise(
      append(delivery.deliveryId, claimed, state.revision ?? "no_stream").pipe(Effect.either)
    )
    if (result._tag === "Left") return { _tag: "Busy", until: at + recheck }
    held.set(delivery.deliveryId, result.right)
    return { _tag: "Claimed", attempt, scheduleStep: state.scheduleStep, attempts: state.attempts }
  }

  const completed = async (outcome: WebhookAttemptOutcome): Promise<void> => {
    const revision = held.get(outcome.deliveryId)
    if (revision === undefined) return
    held.delete(outcome.deliveryId)
    const attempt: DeliveryAttemptData = {
      attempt: outcome.attempt,
      startedAt: new Date(outcome.startedAt).toISOString(),
      durationMs: outcome.durationMs,
      statusCode: outcome.statusCode,
      error: outcome.error,
      responseSnippet: outcome.responseSnippet,
      scheduleStep: outcome.scheduleStep
    }
    const event: DeliveryClaimEvent = outcome.status === "pending"
      ? {
        type: "DeliveryAttemptFailed",
        data: { deliveryId: outcome.deliveryId, instance, ...attempt, nextAttemptAt: new Date(outcome.nextAttemptAt ?? now()).toISOString() }
      }
      : { type: "DeliveryCompleted", data: { deliveryId: outcome.deliveryId, instance, ...attempt, status: outcome.status } }
    await Effect.runPromise(
      append(outcome.deliveryId, event, revision).pipe(
        Effect.asVoid,
        Effect.catchTag("WrongExpectedRevision", () =>
          Effect.logWarning(`webhook delivery ${outcome.deliveryId}: the claim's lease ran out before its outcome was recorded; another instance took it over`))
      )
    )
  }

  const reopen = (deliveryId: string): Promise<void> =>
    Effect.runPromise(
      Effect.gen(function*() {
        const state = yield* Effect.promise(() => read(deliveryId))
        if (state.revision === null || (state.phase !== "settled" && state.phase !== "retrying")) return
        const at = new Date(now()).toISOString()
        yield* append(deliveryId, { type: "DeliveryReopened", data: { deliveryId, instance, at } }, state.revision)
      }).pipe(
        Effect.retry({ while: (e) => e instanceof WrongExpectedRevision, times: maxReopenConflicts }),
        Effect.orDie
      )
    )

  return { instance, claim, completed, reopen }
}

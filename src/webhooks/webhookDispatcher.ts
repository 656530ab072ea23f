/**
 * The webhook dispatcher: sends pending deliveries from the outbox, signed per attempt with
 * Standard Webhooks, and records every attempt with its outcome.
 *
 * - Picks due deliveries (`pending`, `next_attempt_at <= now`, endpoint enabled) in due order into
 *   a bounded in-memory queue per endpoint (p-queue, `concurrencyPerEndpoint`), under a global cap
 *   (`maxConcurrency`), so a slow or dead endpoint holds only its own slots.
 * - POSTs with got: no redirects followed, no got retries, a request timeout; `webhook-id` is the
 *   delivery id (stable across retries and restarts), `webhook-timestamp` the attempt time.
 * - 2xx = delivered; 410 Gone = failed and the endpoint disabled (Standard Webhooks
 *   recommendation); anything else is retried on the retry schedule, then `failed`.
 * - Each attempt row and the delivery's new state are written together; attempts finishing in the
 *   same turn of the event loop share one transaction (the delivery is not picked again before its
 *   attempt is committed; a crash before the commit means a resend with the same `webhook-id`).
 *   An attempt cut off by shutdown is not recorded: the delivery stays pending and the next dispatcher sends it
 *   again with the same `webhook-id` (at-least-once; receivers dedupe on it).
 * - `claim` (before each attempt) and `completed` (after it is recorded) are the seam for several
 *   instances sharing deliveries (DESIGN.md, "Webhooks"): a claim may say another instance holds
 *   the delivery (`Busy`) or already moved it on (`Elsewhere`: its state is copied into the local
 *   row, nothing is sent). Locally every claim succeeds; `webhookDeliveryClaims.ts` shares them
 *   through the log, and `webhookDispatcherLayer` uses it when given `sharedClaims`.
 */
import got from "got"
import type { CancelableRequest, Response } from "got"
import PQueue from "p-queue"
import { Context, Effect, Fiber, Layer } from "effect"
import { makeAppendSignal } from "../store/appendSignal.js"
import { EventStore } from "../store/eventStore.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { makeWebhookAgents } from "./requestFiltering.js"
import type { RequestFilteringOptions } from "./requestFiltering.js"
import { defaultRetryJitter, defaultRetryScheduleMillis, nextRetryDelay } from "./retrySchedule.js"
import { makeSharedDeliveryClaims } from "./webhookDeliveryClaims.js"
import { defaultWebhookRetentionMillis, pruneFinishedDeliveriesPeriodically } from "./webhookRetention.js"
import type { SharedDeliveryClaimsOptions } from "./webhookDeliveryClaims.js"
import { disableEndpointRows, recordWebhookEndpointDisabled } from "./webhookEndpoints.js"
import type { WebhookDeliveryStatus as DeliveryStatus } from "./webhookDeliveries.js"
import { signWebhook } from "./webhookSigning.js"
import { defaultConcurrencyPerEndpoint, defaultMaxConcurrency } from "./deliveryConcurrency.js"
import { ensureWebhookTables, webhookEndpointsGeneration } from "./webhookTables.js"

/** A delivery the dispatcher is about to attempt, as `claim` sees it. */
export interface DeliveryClaim {
  readonly deliveryId: string
  readonly endpointId: string
  /** 1-based number of the attempt about to be made. */
  readonly attempt: number
}

/** What one recorded attempt did. Instants in ms since the epoch. */
export interface WebhookAttemptOutcome {
  readonly deliveryId: string
  readonly endpointId: string
  readonly attempt: number
  /** HTTP status, null when no response (timeout, refused, blocked address). */
  readonly statusCode: number | null
  readonly error: string | null
  /** The delivery's status after the attempt. */
  readonly status: DeliveryStatus
  /** Next attempt, ms since the epoch, when still pending. */
  readonly nextAttemptAt: number | null
  readonly startedAt: number
  readonly durationMs: number
  readonly responseSnippet: string | null
  /** Attempts since the retry schedule (re)started, this one included. */
  readonly scheduleStep: number
}

/** One attempt as another instance recorded it (ms since the epoch). */
export interface SharedAttempt {
  readonly attempt: number
  readonly startedAt: number
  readonly durationMs: number
  readonly statusCode: number | null
  readonly error: string | null
  readonly responseSnippet: string | null
}

/** A delivery's state as the instances share it, to copy into the local row. */
export interface SharedDeliveryState {
  readonly status: DeliveryStatus
  /** Attempts made by any instance (including ones cut off before their outcome was known). */
  readonly attemptCount: number
  readonly scheduleStep: number
  /** When pending: not before this instant. */
  readonly nextAttemptAt: number | null
  readonly deliveredAt: number | null
  /** Recorded attempts, oldest first. */
  readonly attempts: ReadonlyArray<SharedAttempt>
}

/** What `claim` answers (a boolean is short for `Claimed` / `Busy` for one poll interval). */
export type ClaimDecision =
  /** Attempt it now, as attempt number `attempt` at `scheduleStep` (defaults: the local row's), after copying `attempts` in. */
  | {
    readonly _tag: "Claimed"
    readonly attempt?: number | undefined
    readonly scheduleStep?: number | undefined
    readonly attempts?: ReadonlyArray<SharedAttempt> | undefined
  }
  /** Another instance holds it: leave it until `until` (ms since the epoch), then ask again. */
  | { readonly _tag: "Busy"; readonly until: number }
  /** Another instance moved it on (delivered, given up, or a retry scheduled): copy its state, send nothing. */
  | { readonly _tag: "Elsewhere"; readonly state: SharedDeliveryState }

/** Dispatcher settings; all optional. Durations in ms. */
export interface WebhookDispatcherOptions {
  /** Delays between attempts (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
  readonly retryScheduleMillis?: ReadonlyArray<number> | undefined
  /** Each delay is scaled by a factor in [1 - jitter, 1 + jitter] (default 0.1). */
  readonly jitter?: number | undefined
  /** Uniform in [0, 1), for the jitter (default Math.random). */
  readonly random?: (() => number) | undefined
  /** Attempts in flight per endpoint (default `defaultConcurrencyPerEndpoint`). */
  readonly concurrencyPerEndpoint?: number | undefined
  /** Deliveries held in memory per endpoint, running or waiting (default 64). */
  readonly maxQueuedPerEndpoint?: number | undefined
  /** Attempts in flight over all endpoints (default `defaultMaxConcurrency`). */
  readonly maxConcurrency?: number | undefined
  /** Whole-request timeout of one attempt (default 10 s). */
  readonly timeoutMillis?: number | undefined
  /** How often to look for due deliveries without a wake-up (default 1 s). */
  readonly pollIntervalMillis?: number | undefined
  /** How long `stop` waits for attempts in flight before cutting them off (default 10 s). */
  readonly shutdownGraceMillis?: number | undefined
  /** SSRF filtering of target addresses, or false for none (default: loopback allowed, private networks blocked). */
  readonly requestFiltering?: RequestFilteringOptions | false | undefined
  /** Called before each attempt; false means another instance has it (default: always true). See `ClaimDecision`. */
  readonly claim?: ((delivery: DeliveryClaim) => boolean | ClaimDecision | Promise<boolean | ClaimDecision>) | undefined
  /** Called after each recorded attempt of a claimed delivery, before its slot frees (tell the other instances). A failure is logged. */
  readonly completed?: ((outcome: WebhookAttemptOutcome) => void | Promise<void>) | undefined
  /** Called by a manual redelivery before the row is put back to pending (reopen it for the other instances too). */
  readonly reopen?: ((deliveryId: string) => Promise<void>) | undefined
  /** Called after a 410 Gone disabled an endpoint in the local file (record it in the log). A failure is logged. */
  readonly endpointGone?: ((endpointId: string) => void | Promise<void>) | undefined
  /** The clock, ms since the epoch (default Date.now; the Layer uses Effect's Clock). */
  readonly now?: (() => number) | undefined
  /** Called after each recorded attempt (logs, metrics). */
  readonly onAttempt?: ((outcome: WebhookAttemptOutcome) => void) | undefined
  /** `user-agent` header (default `call-ledger`). */
  readonly userAgent?: string | undefined
  /** Characters of the response body kept with an attempt (default 1024). */
  readonly responseSnippetChars?: number | undefined
}

/** The dispatcher's engine, without a loop of its own: `startWebhookDispatcher` and the Layer drive it. */
export interface WebhookDispatcherEngine {
  /** Queues the due deliveries there is room for; returns how many it queued. */
  readonly tick: () => number
  /** Ms until the earliest pending delivery that is not yet due, or null when none. */
  readonly nextDueInMillis: () => number | null
  /** Wakes the loop: call after the outbox commits new deliveries. */
  readonly wake: () => void
  /** Resolves at the first wake-up (or finished attempt) after the call, or after `timeoutMillis`. */
  readonly waitForWake: (timeoutMillis: number) => Effect.Effect<void>
  /** Deliveries queued or in flight. */
  readonly inFlight: () => number
  /** Stops taking work and waits for attempts in flight up to the grace period, then aborts them (not recorded). */
  readonly stop: () => Promise<void>
  /** A manual redelivery is about to put `deliveryId` back to pending: the `reopen` hook. */
  readonly reopen: (deliveryId: string) => Promise<void>
  readonly pollIntervalMillis: number
}

interface DueRow {
  readonly id: string
}

interface TargetRow {
  readonly id: string
  readonly endpoint_id: string
  readonly body: string
  readonly attempt_count: number
  readonly url: string
  readonly secret: string
  readonly previous_secret: string | null
  readonly previous_secret_until: number | null
}

interface StateRow {
  readonly status: DeliveryStatus
  readonly attempt_count: number
  readonly schedule_step: number
  readonly endpoint_id: string
  readonly next_attempt_at: number | null
}

interface AttemptResult {
  readonly deliveryId: string
  readonly startedAt: number
  readonly finishedAt: number
  readonly statusCode: number | null
  readonly error: string | null
  readonly snippet: string | null
}

const describeError = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as { readonly code?: unknown }).code
    return typeof code === "string" && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
  }
  return String(error)
}

/** Builds the engine over the ledger database (creating the webhook tables if missing). */
export const makeWebhookDispatcher = (db: SqliteDatabase, options: WebhookDispatcherOptions = {}): WebhookDispatcherEngine => {
  ensureWebhookTables(db)
  const schedule = options.retryScheduleMillis ?? defaultRetryScheduleMillis
  const jitter = options.jitter ?? defaultRetryJitter
  const random = options.random ?? Math.random
  const perEndpoint = options.concurrencyPerEndpoint ?? defaultConcurrencyPerEndpoint
  const maxQueued = Math.max(options.maxQueuedPerEndpoint ?? 64, perEndpoint)
  const timeoutMillis = options.timeoutMillis ?? 10_000
  const pollIntervalMillis = options.pollIntervalMillis ?? 1_000
  const graceMillis = options.shutdownGraceMillis ?? 10_000
  const claim = options.claim ?? (() => true)
  const completed = options.completed ?? (() => undefined)
  const now = options.now ?? Date.now
  const userAgent = options.userAgent ?? "call-ledger"
  const snippetChars = options.responseSnippetChars ?? 1024
  const agents = makeWebhookAgents(options.requestFiltering ?? {})
  const signal = makeAppendSignal()

  const global = new PQueue({ concurrency: options.maxConcurrency ?? defaultMaxConcurrency })
  const queues = new Map<string, PQueue>()
  /**
   * Picked deliveries (queued, in flight or being recorded), each with what it is sent with, read
   * when it was queued: reading rows in one go in `tick` costs a fraction of reading each one
   * before its attempt (`npm run bench`). The row is read again before sending only when an
   * endpoint row was added or changed in between (`webhookEndpointsGeneration`, kept in the file,
   * so a change by another process counts too); nothing else changes a pending row.
   */
  const picked = new Map<string, { readonly row: TargetRow; readonly generation: number }>()
  const pickedPerEndpoint = new Map<string, number>()
  /** `generation` must be read before `row` is, so a change in between makes the row be read again. */
  const pick = (row: TargetRow, generation: number): void => {
    picked.set(row.id, { row, generation })
    pickedPerEndpoint.set(row.endpoint_id, (pickedPerEndpoint.get(row.endpoint_id) ?? 0) + 1)
  }
  const unpick = (deliveryId: string): void => {
    const endpointId = picked.get(deliveryId)?.row.endpoint_id
    if (endpointId === undefined) return
    picked.delete(deliveryId)
    pickedPerEndpoint.set(endpointId, (pickedPerEndpoint.get(endpointId) ?? 1) - 1)
  }
  /** Deliveries to leave alone until the given time: held by another instance, or a failed claim or write. */
  const claimedElsewhere = new Map<string, number>()
  const running = new Set<Promise<void>>()
  /**
   * The requests in flight, canceled at shutdown. got's own `cancel()`, not an `AbortSignal` per
   * request: creating and listening to one cost ~10% of the dispatcher's CPU (`npm run bench`).
   */
  const inFlightRequests = new Set<CancelableRequest>()
  let aborted = false
  let stopping = false
  let stopped: Promise<void> | null = null

  // The enabled endpoints with pending deliveries, found by skipping along `webhook_deliveries_due`
  // (status, endpoint_id, next_attempt_at) from one such endpoint to the next: a seek per endpoint
  // with pending rows, none for the others (every endpoint whose deliveries all went), and no scan
  // of the pending rows. A query per enabled endpoint cost ~5 µs each, twice per wake-up: ~9 ms of
  // every wake-up with 1,000 endpoints, most of them with nothing to send. `CROSS JOIN` keeps the
  // walk outside: with statistics, the planner scanned every enabled endpoint and searched the walk.
  // A tick visits the endpoints in id order (it was rowid order), which only decides who gets the
  // global slots first.
  const pendingEndpoints = `
    WITH RECURSIVE pending (endpoint_id) AS (
      SELECT (SELECT endpoint_id FROM webhook_deliveries WHERE status = 'pending' ORDER BY endpoint_id LIMIT 1)
      UNION ALL
      SELECT (SELECT d.endpoint_id FROM webhook_deliveries d
              WHERE d.status = 'pending' AND d.endpoint_id > pending.endpoint_id ORDER BY d.endpoint_id LIMIT 1)
      FROM pending WHERE pending.endpoint_id IS NOT NULL
    )`
  const endpointsWithPending = db.prepare<[number], { id: string; due: number }>(
    `${pendingEndpoints}
     SELECT p.endpoint_id AS id, EXISTS (
       SELECT 1 FROM webhook_deliveries d WHERE d.status = 'pending' AND d.endpoint_id = p.endpoint_id AND d.next_attempt_at <= ?
     ) AS due
     FROM pending p CROSS JOIN webhook_endpoints e ON e.id = p.endpoint_id WHERE e.enabled = 1`
  )
  const dueForEndpoint = db.prepare(
    `SELECT id FROM webhook_deliveries
     WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at <= ?
     ORDER BY next_attempt_at, rowid LIMIT CAST(? AS INTEGER)`
  )
  const nextDue = db.prepare<[number], number | null>(
    `${pendingEndpoints}
     SELECT min((
       SELECT d.next_attempt_at FROM webhook_deliveries d
       WHERE d.status = 'pending' AND d.endpoint_id = p.endpoint_id AND d.next_attempt_at > ?
       ORDER BY d.next_attempt_at LIMIT 1
     ))
     FROM pending p CROSS JOIN webhook_endpoints e ON e.id = p.endpoint_id WHERE e.enabled = 1`
  ).pluck()
  const target = db.prepare(
    `SELECT d.id, d.endpoint_id, d.body, d.attempt_count, e.url, e.secret, e.previous_secret, e.previous_secret_until
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.id = ? AND d.status = 'pending' AND e.enabled = 1`
  )
  const state = db.prepare(
    "SELECT status, attempt_count, schedule_step, endpoint_id, next_attempt_at FROM webhook_deliveries WHERE id = ?"
  )
  const insertAttempt = db.prepare(
    `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_snippet)
     VALUES (?, ?, ?, ?, ?, ?, ?)`
  )
  const updateDelivery = db.prepare(
    `UPDATE webhook_deliveries SET status = ?, attempt_count = ?, schedule_step = ?, next_attempt_at = ?,
       last_attempt_at = ?, last_status_code = ?, last_error = ?, delivered_at = COALESCE(delivered_at, ?)
     WHERE id = ?`
  )

  const insertSharedAttempt = db.prepare(
    `INSERT OR IGNORE INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_snippet)
     VALUES (?, ?, ?, ?, ?, ?, ?)`
  )
  const alignDelivery = db.prepare("UPDATE webhook_deliveries SET attempt_count = ?, schedule_step = ? WHERE id = ? AND status = 'pending'")
  const adoptDelivery = db.prepare(
    `UPDATE webhook_deliveries SET status = ?, attempt_count = ?, schedule_step = ?, next_attempt_at = ?,
       last_attempt_at = COALESCE(?, last_attempt_at), last_status_code = COALESCE(?, last_status_code),
       last_error = COALESCE(?, last_error), delivered_at = COALESCE(delivered_at, ?)
     WHERE id = ? AND status = 'pending'`
  )

  const copyAttempts = (deliveryId: string, attempts: ReadonlyArray<SharedAttempt>): void => {
    for (const a of attempts) {
      insertSharedAttempt.run(deliveryId, a.attempt, a.startedAt, a.durationMs, a.statusCode, a.error, a.responseSnippet)
    }
  }

  /** Before sending a shared delivery: the local row takes the shared attempt numbering and schedule step. */
  const align = db.transaction((deliveryId: string, decision: Extract<ClaimDecision, { _tag: "Claimed" }>): void => {
    copyAttempts(deliveryId, decision.attempts ?? [])
    const row = state.get(deliveryId) as StateRow | undefined
    if (row === undefined) return
    alignDelivery.run(
      decision.attempt === undefined ? row.attempt_count : decision.attempt - 1,
      decision.scheduleStep ?? row.schedule_step,
      deliveryId
    )
  })

  /** Another instance moved the delivery on: the local row (still pending) takes its state. */
  const adopt = db.transaction((deliveryId: string, shared: SharedDeliveryState): void => {
    copyAttempts(deliveryId, shared.attempts)
    const last = shared.attempts[shared.attempts.length - 1]
    adoptDelivery.run(
      shared.status, shared.attemptCount, shared.scheduleStep, shared.status === "pending" ? shared.nextAttemptAt : null,
      last?.startedAt ?? null, last?.statusCode ?? null, last?.error ?? null,
      shared.status === "delivered" ? shared.deliveredAt : null, deliveryId
    )
  })

  const recordOne = (result: AttemptResult): WebhookAttemptOutcome | null => {
    const row = state.get(result.deliveryId) as StateRow | undefined
    if (row === undefined) return null
    const attempt = row.attempt_count + 1
    const step = row.schedule_step + 1
    insertAttempt.run(
      result.deliveryId, attempt, result.startedAt, result.finishedAt - result.startedAt,
      result.statusCode, result.error, result.snippet
    )
    const code = result.statusCode
    let status: DeliveryStatus = row.status
    let nextAttemptAt = row.next_attempt_at
    // A 2xx is recorded as delivered even when the endpoint was disabled (`canceled`) while the
    // request was in flight: the receiver did get it.
    if (code !== null && code >= 200 && code < 300) {
      status = "delivered"
      nextAttemptAt = null
    } else if (row.status === "pending") {
      const delay = code === 410 ? null : nextRetryDelay(schedule, step, jitter, random)
      status = delay === null ? "failed" : "pending"
      nextAttemptAt = delay === null ? null : result.finishedAt + delay
    }
    updateDelivery.run(
      status, attempt, step, nextAttemptAt, result.startedAt, code, result.error,
      status === "delivered" ? result.finishedAt : null, result.deliveryId
    )
    if (code === 410) disableEndpointRows(db, row.endpoint_id, result.finishedAt, "gone")
    return {
      deliveryId: result.deliveryId, endpointId: row.endpoint_id, attempt, statusCode: code, error: result.error, status, nextAttemptAt,
      startedAt: result.startedAt, durationMs: result.finishedAt - result.startedAt, responseSnippet: result.snippet, scheduleStep: step
    }
  }

  interface QueuedRecord {
    readonly result: AttemptResult
    readonly resolve: (outcome: WebhookAttemptOutcome | null) => void
    readonly reject: (error: unknown) => void
  }
  const recordOneTx = db.transaction(recordOne)
  const recordMany = db.transaction((items: ReadonlyArray<QueuedRecord>) => items.map((i) => recordOne(i.result)))
  let toRecord: Array<QueuedRecord> = []

  const flushRecords = (): void => {
    const items = toRecord
    toRecord = []
    try {
      const outcomes = recordMany(items)
      items.forEach((item, i) => item.resolve(outcomes[i]!))
    } catch {
      // One bad attempt must not fail the others: each alone, in its own transaction.
      for (const item of items) {
        try {
          item.resolve(recordOneTx(item.result))
        } catch (e) {
          item.reject(e)
        }
      }
    }
  }

  /** Records an attempt in the next batch; resolves once it is committed. */
  const record = (result: AttemptResult): Promise<WebhookAttemptOutcome | null> =>
    new Promise((resolve, reject) => {
      toRecord.push({ result, resolve, reject })
      if (toRecord.length === 1) setImmediate(flushRecords)
    })

  const logged = async (what: string, hook: () => void | Promise<void>): Promise<void> => {
    try {
      await hook()
    } catch (e) {
      Effect.runFork(Effect.logError(what, describeError(e)))
    }
  }

  /** `release` frees the attempt's slot once the response is in (a 410 keeps it until the endpoint is disabled). */
  const send = async (row: TargetRow, release: () => void): Promise<void> => {
    const startedAt = now()
    const until = row.previous_secret_until
    const secrets = row.previous_secret !== null && until !== null && until > startedAt
      ? [row.secret, row.previous_secret]
      : [row.secret]
    let statusCode: number | null = null
    let error: string | null = null
    let snippet: string | null = null
    let request: CancelableRequest<Response<string>> | undefined
    try {
      request = got.post(row.url, {
        body: row.body,
        headers: {
          "content-type": "application/json",
          "user-agent": userAgent,
          ...signWebhook(row.id, startedAt, row.body, secrets)
        },
        timeout: { request: timeoutMillis },
        followRedirect: false,
        retry: { limit: 0 },
        throwHttpErrors: false,
        agent: { http: agents.http, https: agents.https }
      })
      inFlightRequests.add(request)
      const response = await request
      statusCode = response.statusCode
      snippet = response.body.slice(0, snippetChars)
    } catch (e) {
      error = describeError(e)
    } finally {
      if (request !== undefined) inFlightRequests.delete(request)
    }
    // Cut off by shutdown: leave the delivery pending for the next dispatcher (the db may be closing).
    if (aborted) return
    if (statusCode !== 410) release()
    const outcome = await record({ deliveryId: row.id, startedAt, finishedAt: now(), statusCode, error, snippet })
    if (outcome === null) return
    // A retry may be due at once (a zero delay): the next tick looks.
    if (outcome.status === "pending") wokenSinceTick = true
    options.onAttempt?.(outcome)
    await logged("webhook attempt not shared", () => completed(outcome))
    const gone = options.endpointGone
    if (statusCode === 410 && gone !== undefined) await logged("webhook endpoint gone not recorded", () => gone(row.endpoint_id))
  }

  /**
   * An attempt, as its endpoint and global slots see it: done once the response is in. The
   * delivery stays picked until its outcome is recorded, so it is not sent again before that.
   */
  const attemptSlot = (deliveryId: string): Promise<void> =>
    new Promise<void>((release) => {
      void attempt(deliveryId, release).finally(release)
    })

  const attempt = async (deliveryId: string, release: () => void): Promise<void> => {
    try {
      if (stopping) return
      const pickedRow = picked.get(deliveryId)
      const row = pickedRow !== undefined && pickedRow.generation === webhookEndpointsGeneration(db)
        ? pickedRow.row
        : target.get(deliveryId) as TargetRow | undefined
      if (row === undefined) return
      const answer = await claim({ deliveryId, endpointId: row.endpoint_id, attempt: row.attempt_count + 1 })
      const decision: ClaimDecision = answer === true
        ? { _tag: "Claimed" }
        : answer === false
        ? { _tag: "Busy", until: now() + pollIntervalMillis }
        : answer
      if (decision._tag === "Busy") {
        claimedElsewhere.set(deliveryId, decision.until)
        return
      }
      if (decision._tag === "Elsewhere") {
        adopt(deliveryId, decision.state)
        // An adopted retry may fall due before the next due time known: look again.
        if (decision.state.status === "pending") scannedSinceNextDue = true
        return
      }
      // Stopping after a claim: the claim's lease runs out and another instance (or the next start) takes it.
      if (stopping) return
      if (decision.attempt !== undefined || decision.scheduleStep !== undefined || decision.attempts !== undefined) {
        align(deliveryId, decision)
      }
      const sending = send(row, release)
      running.add(sending)
      try {
        await sending
      } finally {
        running.delete(sending)
      }
    } catch (e) {
      // A failed write or claim must not kill the loop; the delivery stays pending and is picked
      // again after a poll interval (not at once: the store may be down).
      claimedElsewhere.set(deliveryId, now() + pollIntervalMillis)
      Effect.runFork(Effect.logError("webhook attempt failed", describeError(e)))
    } finally {
      unpick(deliveryId)
      notifySoon()
    }
  }

  // Attempts finish in bursts (one recorded batch): one wake-up for the burst, not one each.
  let notifyScheduled = false
  const notifySoon = (): void => {
    if (notifyScheduled) return
    notifyScheduled = true
    queueMicrotask(() => {
      notifyScheduled = false
      signal.notify()
    })
  }

  const queueFor = (endpointId: string): PQueue => {
    let queue = queues.get(endpointId)
    if (queue === undefined) {
      queue = new PQueue({ concurrency: perEndpoint })
      queues.set(endpointId, queue)
    }
    return queue
  }

  /**
   * Whether a tick has to look at the tables. Finished attempts wake the loop many times a second;
   * only new deliveries (`wake`), room in a queue that had more due than it could hold, a retry or
   * a claim falling due, or the poll interval can make something new due.
   */
  let wokenSinceTick = true
  /** Endpoints that had more due than their queue could take at the last scan. */
  const backlogged = new Set<string>()
  let lastScan = Number.NEGATIVE_INFINITY
  let earliestDue: number | null = null
  let scannedSinceNextDue = true
  const scanNeeded = (at: number): boolean => {
    if (wokenSinceTick || at - lastScan >= pollIntervalMillis || (earliestDue !== null && earliestDue <= at)) return true
    for (const until of claimedElsewhere.values()) if (until <= at) return true
    // A backlog is topped up once its queue is half empty, not after every attempt.
    for (const endpointId of backlogged) {
      const queue = queues.get(endpointId)
      if (queue === undefined || queue.size + queue.pending <= maxQueued / 2) return true
    }
    return false
  }

  const tick = (): number => {
    if (stopping) return 0
    const at = now()
    if (!scanNeeded(at)) return 0
    wokenSinceTick = false
    scannedSinceNextDue = true
    backlogged.clear()
    lastScan = at
    for (const [id, until] of claimedElsewhere) if (until <= at) claimedElsewhere.delete(id)
    let queued = 0
    const generation = webhookEndpointsGeneration(db)
    for (const { id: endpointId, due } of endpointsWithPending.all(at)) {
      const queue = queues.get(endpointId)
      const load = queue === undefined ? 0 : queue.size + queue.pending
      const room = maxQueued - load
      if (room <= 0) {
        backlogged.add(endpointId)
        continue
      }
      if (queue === undefined && due === 0) continue
      // The ones this endpoint already holds (queued, in flight or being recorded) come back too.
      const limit = room + (pickedPerEndpoint.get(endpointId) ?? 0) + claimedElsewhere.size
      const rows = dueForEndpoint.all(endpointId, at, limit) as Array<DueRow>
      if (rows.length === limit) backlogged.add(endpointId)
      let endpointQueue = queue
      for (const { id } of rows) {
        if (picked.has(id) || claimedElsewhere.has(id)) continue
        endpointQueue ??= queueFor(endpointId)
        if (endpointQueue.size + endpointQueue.pending >= maxQueued) {
          backlogged.add(endpointId)
          break
        }
        const row = target.get(id) as TargetRow | undefined
        if (row === undefined) continue
        pick(row, generation)
        queued++
        void endpointQueue.add(() => global.add(() => attemptSlot(id)))
      }
    }
    return queued
  }

  const stop = (): Promise<void> => {
    if (stopped !== null) return stopped
    stopping = true
    stopped = (async () => {
      let timer: NodeJS.Timeout | undefined
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMillis)
      })
      await Promise.race([Promise.allSettled([...running]), grace])
      clearTimeout(timer)
      aborted = true
      for (const request of inFlightRequests) request.cancel()
      await Promise.allSettled([...running])
      agents.http.destroy()
      agents.https.destroy()
    })()
    return stopped
  }

  return {
    tick,
    nextDueInMillis: () => {
      const at = now()
      // Only a scan can change what falls due next (a new retry wakes the next tick into one), so
      // wake-ups without a scan, one per burst of finished attempts, skip the walk (`nextDue`).
      if (scannedSinceNextDue || (earliestDue !== null && earliestDue <= at)) {
        scannedSinceNextDue = false
        earliestDue = nextDue.get(at) ?? null
      }
      return earliestDue === null ? null : earliestDue - at
    },
    wake: () => {
      wokenSinceTick = true
      signal.notify()
    },
    waitForWake: (timeoutMillis) => signal.ticket(timeoutMillis),
    inFlight: () => picked.size,
    stop,
    reopen: (deliveryId) => options.reopen?.(deliveryId) ?? Promise.resolve(),
    pollIntervalMillis
  }
}

/**
 * The dispatch loop: queue what is due, then sleep until a wake-up, a finished attempt, the next
 * retry falling due or the poll interval, whichever comes first. Never ends; interrupt it to stop.
 */
export const dispatchLoop = (engine: WebhookDispatcherEngine): Effect.Effect<never> =>
  Effect.gen(function*() {
    const wake = engine.waitForWake(engine.pollIntervalMillis)
    yield* Effect.sync(engine.tick).pipe(
      Effect.catchAllCause((cause) => Effect.logError("webhook dispatch failed", cause))
    )
    const dueIn = engine.nextDueInMillis()
    yield* dueIn === null || dueIn >= engine.pollIntervalMillis ? wake : Effect.race(wake, Effect.sleep(Math.max(dueIn, 1)))
  }).pipe(Effect.forever)

/** A dispatcher running in the background (plain form, for tests and scripts). */
export interface RunningWebhookDispatcher {
  /** Call after the outbox commits new deliveries (the projection runner's `onBatch`). */
  readonly wake: () => void
  /** Deliveries queued or in flight. */
  readonly inFlight: () => number
  /** Stops the loop, then waits for attempts in flight (bounded by the grace period). */
  readonly stop: () => Promise<void>
}

/** Starts a dispatcher over `db` with its loop on the default Effect runtime (real clock unless `now` is given). */
export const startWebhookDispatcher = (db: SqliteDatabase, options: WebhookDispatcherOptions = {}): RunningWebhookDispatcher => {
  const engine = makeWebhookDispatcher(db, options)
  const fiber = Effect.runFork(dispatchLoop(engine))
  engine.wake()
  return {
    wake: engine.wake,
    inFlight: engine.inFlight,
    stop: async () => {
      await Effect.runPromise(Fiber.interrupt(fiber))
      await engine.stop()
    }
  }
}

/** The running dispatcher, as a service. */
export interface WebhookDispatcherService {
  /** Call after the outbox commits new deliveries, or after a manual redelivery. */
  readonly wake: () => void
  /** Deliveries queued or in flight. */
  readonly inFlight: () => number
  /** Before a manual redelivery puts `deliveryId` back to pending: reopens it for the other instances. */
  readonly reopen: (deliveryId: string) => Effect.Effect<void>
}

/** The webhook dispatcher service tag. */
export class WebhookDispatcher extends Context.Tag("call-ledger/WebhookDispatcher")<WebhookDispatcher, WebhookDispatcherService>() {}

/** Settings of `webhookDispatcherLayer`: the dispatcher's, plus how deliveries are shared. */
export interface WebhookDispatcherLayerOptions
  extends Omit<WebhookDispatcherOptions, "now" | "claim" | "completed" | "reopen" | "endpointGone">
{
  /**
   * Share deliveries with the other instances on the same log, by claims in the store
   * (`webhookDeliveryClaims.ts`). Default: none, this instance owns every delivery of its file
   * (one process on the embedded store).
   */
  readonly sharedClaims?: Omit<SharedDeliveryClaimsOptions, "now"> | undefined
  /** How long a finished delivery is kept after it ended, ms (default 30 days; `webhookRetention.ts`). */
  readonly retentionMillis?: number | undefined
}

/**
 * Scoped layer: starts the dispatcher's loop as a background fiber over `LedgerDatabase`, with
 * Effect's `Clock` as its clock; closing the scope stops the loop and waits for attempts in flight
 * (bounded by `shutdownGraceMillis`). A 410 Gone disables the endpoint in the log too
 * (`WebhookEndpointDisabled`, reason `gone`), so every instance stops sending to it.
 */
export const webhookDispatcherLayer = (
  options: WebhookDispatcherLayerOptions = {}
): Layer.Layer<WebhookDispatcher, never, LedgerDatabase | EventStore> =>
  Layer.scoped(
    WebhookDispatcher,
    Effect.gen(function*() {
      const db = yield* LedgerDatabase
      const store = yield* EventStore
      const clock = yield* Effect.clock
      const now = () => clock.unsafeCurrentTimeMillis()
      const { retentionMillis, sharedClaims, ...dispatcherOptions } = options
      const claims = sharedClaims === undefined ? null : makeSharedDeliveryClaims(store, { ...sharedClaims, now })
      const endpointGone = (endpointId: string) =>
        Effect.runPromise(
          recordWebhookEndpointDisabled(endpointId, "gone").pipe(
            Effect.provideService(EventStore, store),
            Effect.catchTag("WebhookEndpointNotFound", () => Effect.void),
            Effect.asVoid
          )
        )
      const engine = makeWebhookDispatcher(db, {
        ...dispatcherOptions,
        now,
        endpointGone,
        ...(claims === null ? {} : { claim: claims.claim, completed: claims.completed, reopen: claims.reopen })
      })
      if (claims !== null) yield* Effect.logDebug(`webhook deliveries shared through the log as instance ${claims.instance}`)
      // Finalizers run last-added first: the loop is interrupted, then attempts in flight are awaited.
      yield* Effect.addFinalizer(() => Effect.promise(engine.stop))
      yield* Effect.forkScoped(dispatchLoop(engine))
      yield* Effect.forkScoped(pruneFinishedDeliveriesPeriodically(db, retentionMillis ?? defaultWebhookRetentionMillis))
      engine.wake()
      return { wake: engine.wake, inFlight: engine.inFlight, reopen: (deliveryId) => Effect.promise(() => engine.reopen(deliveryId)) }
    })
  )

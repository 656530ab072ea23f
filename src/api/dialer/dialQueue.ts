/**
 * Dials the recorded calls at a set pace (seed 004: "processed at 1 call per second by a background
 * worker"): every call of `POST /v1/calls` and every number of `POST /v1/calls/batch` goes through
 * one `p-queue` with an interval cap (`LEDGER_DIAL_CALLS_PER_INTERVAL` calls per
 * `LEDGER_DIAL_INTERVAL_MS`, sliding window), since a provider's calls-per-second limit is per
 * account. The work is kept in SQLite (`dialJobs.ts`): after a restart the numbers still queued are
 * dialed, in order.
 *
 * At its turn a job: refuses a number on the do-not-call list (a batch number gets no call; a single
 * call is ended `canceled`), records a batch number's call (`CallDialed`, deterministic id and
 * command id, so a resumed job records it once), skips a call whose log shows it moved on (a
 * workflow ended it, or it was dialed before a restart), and hands the call to the `Dialer`. When the dialer
 * refuses it, the call is ended `failed` (`dial_failed`) with the reason.
 */
import { Context, Effect, FiberSet, Layer } from "effect"
import PQueue from "p-queue"
import { v5 as uuidv5, v7 as uuidv7 } from "uuid"
import type { EndCall } from "../../domain/callCommands.js"
import { foldCall } from "../../domain/callDecider.js"
import type { CallEventData } from "../../domain/callEvents.js"
import type { EndReason, EndStatus } from "../../domain/values.js"
import { toCallEvents } from "../../store/callCommandHandler.js"
import { LedgerDatabase } from "../../store/sqlite/sqliteDatabase.js"
import { CallLedger } from "../callLedger.js"
import { LedgerSettings } from "../ledgerConfig.js"
import { outboundDialCommand } from "../reportCommands.js"
import { Dialer } from "./dialer.js"
import type { DialRequest } from "./dialer.js"
import { dialJobStore } from "./dialJobs.js"
import type { DialBatch, DialDetails, DialJob } from "./dialJobs.js"
import { nowIso } from "../currentInstant.js"

const batchNamespace = "3c8e5a61-0f4b-4d0e-8f71-2a9d6b5c4e13"

/** A new batch id, `batch_` and a UUIDv7; with an idempotency key, derived from it. */
export const newBatchId = (idempotencyKey?: string): string =>
  `batch_${(idempotencyKey === undefined ? uuidv7() : uuidv5(`batch:${idempotencyKey}`, batchNamespace)).replaceAll("-", "")}`

/** The call id of the `position`-th number of a batch: the same on every attempt. */
export const batchCallId = (batchId: string, position: number): string =>
  `cal_${uuidv5(`${batchId}:${position}`, batchNamespace).replaceAll("-", "")}`

export interface DialQueueService {
  /** The provider its dialer places calls with (`DialCall.provider`: `Dialer.name`), null when none does. */
  readonly provider: string | null
  /** Queues a call `POST /v1/calls` recorded; the dialer gets it in turn. */
  readonly enqueueCall: (callId: string, toNumber: string, details: DialDetails) => Effect.Effect<void>
  /** Stores a batch and queues its numbers in order (seed 004). A batch id given before is left as it is. */
  readonly startBatch: (batchId: string, toNumbers: ReadonlyArray<string>, details: DialDetails) => Effect.Effect<DialBatch>
  /** The batch and each number's job, or null for an unknown id. */
  readonly batch: (batchId: string) => Effect.Effect<{ readonly batch: DialBatch; readonly jobs: ReadonlyArray<DialJob> } | null>
}

export class DialQueue extends Context.Tag("call-ledger/DialQueue")<DialQueue, DialQueueService>() {}


/** The queue over the ledger, the dialer and the SQLite file; resumes the queued jobs at once. */
export const dialQueueLayer: Layer.Layer<DialQueue, never, LedgerDatabase | CallLedger | Dialer | LedgerSettings> = Layer.scoped(
  DialQueue,
  Effect.gen(function*() {
    const db = yield* LedgerDatabase
    const ledger = yield* CallLedger
    const dialer = yield* Dialer
    const settings = yield* LedgerSettings
    const jobs = dialJobStore(db)
    const provider = dialer.name === "none" ? null : dialer.name
    const runPromise = yield* FiberSet.makeRuntimePromise<never>()
    const queue = new PQueue({
      intervalCap: settings.dialer.callsPerInterval,
      interval: settings.dialer.intervalMillis,
      strict: true
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        queue.pause()
        queue.clear()
      })
    )

    const endCall = (job: DialJob, reason: EndReason, status: EndStatus, errorReason: string) =>
      Effect.flatMap(nowIso, (at) => {
        const command: EndCall = {
          type: "EndCall",
          commandId: `dial-job:${job.callId}:end`,
          callId: job.callId,
          at,
          reason,
          status,
          outcome: "failed",
          durationSeconds: 0,
          errorReason
        }
        return ledger.execute(command)
      }).pipe(Effect.ignore)

    const settle = (job: DialJob, status: "initiated" | "failed", callSid: string | null, error: string | null) =>
      Effect.flatMap(nowIso, (now) => Effect.sync(() => jobs.settle(job.seq, status, callSid, error, now)))

    const recordCall = (job: DialJob) =>
      Effect.gen(function*() {
        const command = outboundDialCommand({
          callId: job.callId,
          commandId: `dial-job:${job.callId}:dial`,
          at: yield* nowIso,
          to: job.toNumber,
          details: job.details,
          provider,
          callSid: null
        })
        yield* ledger.execute(command)
        const now = yield* nowIso
        yield* Effect.sync(() => jobs.markRecorded(job.seq, now))
      })

    const dialRequest = (job: DialJob): DialRequest => ({
      callId: job.callId,
      to: job.toNumber,
      from: job.details.from,
      contactName: job.details.contactName,
      campaignId: job.details.campaignId,
      agentId: job.details.agentId,
      scriptId: job.details.scriptId,
      language: job.details.language,
      metadata: job.details.metadata,
      statusCallbackUrl: `${settings.publicUrl}/v1/telephony/twilio/status?call_id=${encodeURIComponent(job.callId)}`
    })

    const runJob = (seq: number) =>
      Effect.gen(function*() {
        const job = jobs.job(seq)
        if (job === null || job.status !== "queued") return
        if (yield* ledger.isOnDoNotCallList(job.toNumber)) {
          if (job.callRecorded) yield* endCall(job, "canceled", "canceled", "the number is on the do-not-call list")
          return yield* settle(job, "failed", null, "the number is on the do-not-call list")
        }
        if (!job.callRecorded) yield* recordCall(job)
        // The log, not the view: after a restart the view may not have caught up yet.
        const history = (yield* ledger.callHistory(job.callId)) ?? []
        const state = foldCall(toCallEvents(history))
        if (state.lifecycle !== "queued") {
          // Ended by a workflow before its turn, or dialed before a restart.
          const ended = history.findLast((e) => e.type === "CallEnded")?.data as CallEventData<"CallEnded"> | undefined
          return ended !== undefined && state.callSid === null
            ? yield* settle(job, "failed", null, `the call ended before it was dialed (${ended.reason})`)
            : yield* settle(job, "initiated", state.callSid, null)
        }
        const dialed = yield* Effect.either(dialer.dial(dialRequest(job)))
        if (dialed._tag === "Left") {
          yield* endCall(job, "dial_failed", "failed", dialed.left.reason)
          return yield* settle(job, "failed", null, dialed.left.reason)
        }
        return yield* settle(job, "initiated", dialed.right.callSid, null)
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError(`dial job ${seq} failed; it stays queued until the next start`, cause)
        )
      )

    /** Jobs in the queue or running: a job is never run twice at once. */
    const scheduled = new Set<number>()
    const schedule = (seqs: ReadonlyArray<number>) =>
      Effect.sync(() => {
        for (const seq of seqs) {
          if (scheduled.has(seq)) continue
          scheduled.add(seq)
          // Rejects only when the service stops mid-job; the job stays queued for the next start.
          queue.add(() => runPromise(runJob(seq))).catch(() => undefined).finally(() => scheduled.delete(seq))
        }
      })

    // What a stopped process left queued, in order.
    yield* schedule(jobs.queuedSeqs())

    return {
      provider,
      enqueueCall: (callId, toNumber, details) =>
        Effect.flatMap(nowIso, (now) =>
          Effect.suspend(() => {
            const { seq, added } = jobs.addCall(callId, toNumber, details, now)
            return added ? schedule([seq]) : Effect.void
          })),
      startBatch: (batchId, toNumbers, details) =>
        Effect.gen(function*() {
          const now = yield* nowIso
          const existed = jobs.batch(batchId) !== null
          jobs.addBatch(batchId, toNumbers.map((toNumber, i) => ({ toNumber, callId: batchCallId(batchId, i) })), details, now)
          if (!existed) yield* schedule(jobs.batchSeqs(batchId))
          return jobs.batch(batchId)!.batch
        }),
      batch: (batchId) => Effect.sync(() => jobs.batch(batchId))
    } satisfies DialQueueService
  })
)

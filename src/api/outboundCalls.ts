/**
 * Placing calls: `POST /v1/calls` (seeds 001, 002, 004) and `POST /v1/calls/batch` with
 * `GET /v1/calls/batch/{id}` (seed 004). A call is recorded (`CallDialed`, status `queued`), then
 * handed to the `Dialer` at the dialing pace (`dialer/dialQueue.ts`). A number on the do-not-call
 * list is refused (422 `DoNotCall`) before anything is written. `Idempotency-Key` answers a retry
 * with the first response and a reuse with another body with a 422 (`idempotencyKeys.ts`).
 */
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { BatchNotFound, DoNotCall } from "./apiErrors.js"
import { callIdForIdempotencyKey, newCallId } from "./callIds.js"
import { CallLedger } from "./callLedger.js"
import { presentCallById } from "./callPresenter.js"
import type { CreateBatchBody, CreateCallBody } from "./callRequests.js"
import type { BatchStatusResponse } from "./callResponses.js"
import { DialQueue, newBatchId } from "./dialer/dialQueue.js"
import { IdempotencyKeys } from "./idempotencyKeys.js"
import { dialCommandForBody, dialDetailsOfBody } from "./reportCommands.js"
import { ruleToHttpError } from "./ruleErrors.js"
import { nowIso } from "./currentInstant.js"


/** The request field that named the destination, for errors. */
const destinationField = (body: CreateCallBody): "phone" | "to" | "to_number" =>
  body.phone !== undefined ? "phone" : body.to !== undefined ? "to" : "to_number"

/** `POST /v1/calls`: records the call and queues it for the dialer; 201 with the call record. */
export const createCall = Effect.fn("CallsApi.createCall")(function*(payload: CreateCallBody, idempotencyKey: string | undefined) {
  const idempotency = yield* IdempotencyKeys
  return yield* idempotency.once(idempotencyKey, { method: "POST", path: "/v1/calls", body: payload }, Effect.gen(function*() {
    const ledger = yield* CallLedger
    const dialQueue = yield* DialQueue
    const callId = idempotencyKey === undefined ? newCallId() : callIdForIdempotencyKey(idempotencyKey)
    const command = dialCommandForBody(callId, payload, idempotencyKey ?? randomUUID(), yield* nowIso, dialQueue.provider)
    if (command.to !== null && (yield* ledger.isOnDoNotCallList(command.to))) {
      return yield* Effect.fail(new DoNotCall({
        message: `${command.to} is on the do-not-call list; it is not called`,
        phone: command.to,
        field: destinationField(payload)
      }))
    }
    yield* ledger.execute(command).pipe(Effect.mapError(ruleToHttpError), Effect.catchTag("CallNotFound", Effect.die))
    // The write waited for the projections, so the view is there.
    const call = yield* presentCallById(callId).pipe(Effect.orDie)
    yield* dialQueue.enqueueCall(callId, command.contact.phone, dialDetailsOfBody(payload))
    return call
  }))
})

/** `POST /v1/calls/batch`: stores the batch and queues its numbers; 202 `{batch_id, total, status: "queued"}`. */
export const createBatch = Effect.fn("CallsApi.createBatch")(function*(payload: CreateBatchBody, idempotencyKey: string | undefined) {
  const idempotency = yield* IdempotencyKeys
  return yield* idempotency.once(idempotencyKey, { method: "POST", path: "/v1/calls/batch", body: payload }, Effect.gen(function*() {
    const dialQueue = yield* DialQueue
    const batch = yield* dialQueue.startBatch(newBatchId(idempotencyKey), payload.to_numbers, {
      from: payload.from_number ?? null,
      contactName: null,
      contactId: null,
      campaignId: payload.campaign_id ?? null,
      agentId: payload.agent_id ?? null,
      agentName: payload.agent_name ?? null,
      scriptId: payload.script_id ?? null,
      language: payload.language ?? null,
      metadata: payload.metadata ?? {}
    })
    return { batch_id: batch.id, total: batch.total, status: "queued" as const }
  }))
})

/** `GET /v1/calls/batch/{id}`: seed 004's status, per number in order; 404 for an unknown batch. */
export const getBatch = Effect.fn("CallsApi.getBatch")(function*(batchId: string) {
  const dialQueue = yield* DialQueue
  const found = yield* dialQueue.batch(batchId)
  if (found === null) return yield* Effect.fail(new BatchNotFound({ message: `batch ${batchId} not found`, batch_id: batchId }))
  const count = (status: string) => found.jobs.filter((j) => j.status === status).length
  const queued = count("queued")
  const response: typeof BatchStatusResponse.Type = {
    batch_id: found.batch.id,
    status: queued === found.batch.total ? "queued" : queued === 0 ? "completed" : "in_progress",
    total: found.batch.total,
    queued,
    initiated: count("initiated"),
    failed: count("failed"),
    created_at: found.batch.createdAt,
    calls: found.jobs.map((j) => ({
      to_number: j.toNumber,
      status: j.status,
      call_id: j.callRecorded ? j.callId : null,
      call_sid: j.callSid,
      error: j.error
    }))
  }
  return response
})

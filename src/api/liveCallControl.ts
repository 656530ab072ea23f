/**
 * Workflow actions on a call (seed 002): write metadata back (`POST /v1/calls/{id}/metadata`),
 * bridge a live call to a human agent queue (`/transfer`), end it (`/end`), and check a queue
 * before choosing between a warm transfer and an async handoff (`GET /v1/calls/agent-availability`).
 * Each answers what it appended and the call after it (as `POST /v1/calls/{id}/events` does).
 * A transfer or an end goes to the `Dialer` first and is recorded once it succeeded; on any error
 * nothing is written. `Idempotency-Key` makes a retry answer the first response.
 */
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { CallCommand, EndCall, TransferCall } from "../domain/callCommands.js"
import { AgentQueueNotFound, AgentUnavailable, InvalidRequest, TelephonyFailed } from "./apiErrors.js"
import { AgentQueues } from "./agentQueues.js"
import { CallLedger } from "./callLedger.js"
import { presentCallById } from "./callPresenter.js"
import type { EndCallBody, MergeMetadataBody, TransferCallBody } from "./callRequests.js"
import { Dialer } from "./dialer/dialer.js"
import { IdempotencyKeys } from "./idempotencyKeys.js"
import { callNotFound, ruleToHttpError } from "./ruleErrors.js"
import { nowIso } from "./currentInstant.js"


/** Runs the command and answers `{call_id, appended, revision, call}`. */
const executeAndPresent = (command: CallCommand) =>
  Effect.gen(function*() {
    const ledger = yield* CallLedger
    const result = yield* ledger.execute(command).pipe(Effect.mapError(ruleToHttpError))
    return {
      call_id: command.callId,
      appended: result.events.map((e) => e.type),
      revision: Number(result.revision),
      call: yield* presentCallById(command.callId)
    }
  })

const loadCall = (callId: string) =>
  Effect.flatMap(CallLedger, (ledger) => ledger.getCall(callId)).pipe(
    Effect.flatMap((view) => (view === null ? Effect.fail(callNotFound(callId)) : Effect.succeed(view)))
  )

/** `POST /v1/calls/{id}/metadata`: `key_details` merged (deeply) into the call's; any call, live or ended. 404 for an unknown call. */
export const mergeMetadata = Effect.fn("CallsApi.mergeMetadata")(function*(
  callId: string,
  body: MergeMetadataBody,
  idempotencyKey: string | undefined
) {
  const idempotency = yield* IdempotencyKeys
  return yield* idempotency.once(
    idempotencyKey,
    { method: "POST", path: `/v1/calls/${callId}/metadata`, body },
    Effect.gen(function*() {
      return yield* executeAndPresent({
        type: "MergeMetadata",
        commandId: idempotencyKey ?? randomUUID(),
        callId,
        at: yield* nowIso,
        keyDetails: body.key_details
      })
    }).pipe(
      // The decider refuses a metadata write only for an unknown call.
      Effect.catchTag("CallConflict", Effect.die)
    )
  )
})

/**
 * `POST /v1/calls/{id}/transfer`: 404 unknown call; 400 (`target`) for a queue not configured;
 * 409 (`CallNotActive`) unless the call is answered, not ended and not yet transferred; 503
 * (`AgentUnavailable`) when every agent of the queue is busy; 502 when telephony fails.
 */
export const transferCall = Effect.fn("CallsApi.transferCall")(function*(
  callId: string,
  body: TransferCallBody,
  idempotencyKey: string | undefined
) {
  const idempotency = yield* IdempotencyKeys
  const queues = yield* AgentQueues
  return yield* idempotency.once(
    idempotencyKey,
    { method: "POST", path: `/v1/calls/${callId}/transfer`, body },
    queues.exclusively(Effect.gen(function*() {
      const ledger = yield* CallLedger
      const view = yield* loadCall(callId)
      const queue = yield* queues.status(body.target)
      if (queue === null) {
        return yield* Effect.fail(new InvalidRequest({
          message: `no agent queue named "${body.target}"; configured: ${queues.names.join(", ") || "none"} (LEDGER_AGENT_QUEUES)`,
          field: "target"
        }))
      }
      const command: TransferCall = {
        type: "TransferCall",
        commandId: idempotencyKey ?? randomUUID(),
        callId,
        at: yield* nowIso,
        target: body.target,
        agentBrief: body.agent_brief ?? null,
        context: body.context ?? {}
      }
      // The decider's rules, before the telephony acts: no transfer of a call not live and answered,
      // or transferred already; none sent twice for a command already recorded.
      const events = yield* ledger.decide(command).pipe(Effect.mapError(ruleToHttpError))
      if (events.length > 0) {
        if (!queue.available) {
          return yield* Effect.fail(new AgentUnavailable({
            message: `no agent is available in ${body.target} (${queue.agents} agents, ${queue.queueDepth} calls with them)`,
            target: body.target,
            queue_depth: queue.queueDepth
          }))
        }
        const dialer = yield* Dialer
        yield* dialer.transfer({ callId, callSid: view.call_sid, target: body.target, agentBrief: command.agentBrief, context: command.context }).pipe(
          Effect.mapError((e) => new TelephonyFailed({ message: `the transfer failed: ${e.reason}`, call_id: callId, action: "transfer" }))
        )
      }
      return yield* executeAndPresent(command)
    }))
  )
})

/**
 * `POST /v1/calls/{id}/end`: ends a call not yet ended (status `completed` when it was answered,
 * else `canceled`; `disconnection_reason` is the reason). `dnc_request` puts the number on the
 * do-not-call list. 404 unknown call; 409 (`CallAlreadyEnded`) when it has ended; 502 when telephony fails.
 */
export const endCall = Effect.fn("CallsApi.endCall")(function*(callId: string, body: EndCallBody, idempotencyKey: string | undefined) {
  const idempotency = yield* IdempotencyKeys
  return yield* idempotency.once(
    idempotencyKey,
    { method: "POST", path: `/v1/calls/${callId}/end`, body },
    Effect.gen(function*() {
      const ledger = yield* CallLedger
      const view = yield* loadCall(callId)
      const command: EndCall = {
        type: "EndCall",
        commandId: idempotencyKey ?? randomUUID(),
        callId,
        at: yield* nowIso,
        reason: body.reason,
        status: null,
        outcome: null,
        durationSeconds: null,
        errorReason: null
      }
      // The decider's rules, before the telephony hangs up: no end of an ended call, no hang-up sent
      // twice for a command already recorded.
      const events = yield* ledger.decide(command).pipe(Effect.mapError(ruleToHttpError))
      if (events.length > 0) {
        const dialer = yield* Dialer
        yield* dialer.hangup({ callId, callSid: view.call_sid, reason: body.reason }).pipe(
          Effect.mapError((e) => new TelephonyFailed({ message: `the hang-up failed: ${e.reason}`, call_id: callId, action: "end" }))
        )
      }
      return yield* executeAndPresent(command)
    })
  )
})

/** `GET /v1/calls/agent-availability?target=`: the queue now; 404 (`AgentQueueNotFound`) for a queue not configured. */
export const agentAvailability = Effect.fn("CallsApi.agentAvailability")(function*(target: string) {
  const queues = yield* AgentQueues
  const queue = yield* queues.status(target)
  if (queue === null) {
    return yield* Effect.fail(new AgentQueueNotFound({
      message: `no agent queue named "${target}"; configured: ${queues.names.join(", ") || "none"} (LEDGER_AGENT_QUEUES)`,
      target,
      queues: queues.names
    }))
  }
  return {
    target: queue.target,
    available: queue.available,
    queue_depth: queue.queueDepth,
    agents: queue.agents,
    checked_at: queue.checkedAt
  }
})

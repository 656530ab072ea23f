/** Handlers of the `calls` group: the Calls API over the `CallLedger` service. */
import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { CallRuleViolation } from "../domain/callErrors.js"
import { CallConflict, CallNotFoundError, InvalidRequest } from "./apiErrors.js"
import { callIdForIdempotencyKey, newCallId } from "./callIds.js"
import { CallLedger } from "./callLedger.js"
import type { CallListFilter } from "./callLedger.js"
import { presentCall } from "./callPresenter.js"
import type { ListCallsQuery } from "./callRequests.js"
import type { CallResponse } from "./callResponses.js"
import { CallLedgerApi } from "./callsApi.js"
import { LedgerSettings } from "./ledgerConfig.js"
import { commandForReport, dialCommandForBody } from "./reportCommands.js"

const dateOnly = /^\d{4}-\d{2}-\d{2}$/

/** A range bound as an instant: a date alone means the start (`from`) or the end (`to`) of that UTC day. */
export const rangeBound = (value: string | undefined, edge: "start" | "end"): string | undefined => {
  if (value === undefined) return undefined
  if (dateOnly.test(value)) return edge === "start" ? `${value}T00:00:00.000Z` : `${value}T23:59:59.999Z`
  return new Date(Date.parse(value)).toISOString()
}

const ruleMessages: Record<CallRuleViolation["_tag"], string> = {
  CallNotFound: "no call with this id",
  CallAlreadyExists: "a call with this id exists already",
  CallAlreadyEnded: "the call has ended",
  CallNotActive: "the call is not active",
  CallNotAnswered: "the call was not answered",
  TranscriptAlreadyFinal: "the transcript is already final"
}

/** Maps a decider rule to its HTTP error: 404 for an unknown call, 409 for the rest. */
export const ruleToHttpError = (error: CallRuleViolation): CallNotFoundError | CallConflict =>
  error._tag === "CallNotFound"
    ? new CallNotFoundError({ message: `call ${error.callId} not found`, call_id: error.callId })
    : new CallConflict({ message: `${ruleMessages[error._tag]}: ${error.callId}`, call_id: error.callId, rule: error._tag })

const filterFromQuery = (q: ListCallsQuery): CallListFilter => ({
  campaignId: q.campaign_id,
  agentId: q.agent_id,
  contactId: q.contact_id,
  direction: q.direction,
  callType: q.call_type,
  status: q.status,
  outcome: q.outcome,
  disposition: q.disposition,
  sentiment: q.sentiment,
  language: q.language,
  startedFrom: rangeBound(q.from ?? q.date_from, "start"),
  startedTo: rangeBound(q.to ?? q.date_to, "end"),
  search: q.search,
  minDuration: q.min_duration,
  maxDuration: q.max_duration,
  limit: q.limit,
  offset: q.offset,
  cursor: q.cursor
})

const present = Effect.fn("CallsApi.present")(function*(callId: string) {
  const ledger = yield* CallLedger
  const settings = yield* LedgerSettings
  const view = yield* ledger.getCall(callId)
  if (view === null) return yield* Effect.fail(new CallNotFoundError({ message: `call ${callId} not found`, call_id: callId }))
  return presentCall(view, settings, yield* Clock.currentTimeMillis)
})

const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

export const CallsHandlers = HttpApiBuilder.group(CallLedgerApi, "calls", (handlers) =>
  handlers
    .handle("listCalls", ({ urlParams }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const settings = yield* LedgerSettings
        const page = yield* ledger.listCalls(filterFromQuery(urlParams)).pipe(
          Effect.mapError((e) => new InvalidRequest({ message: e.message, field: e.field }))
        )
        const now = yield* Clock.currentTimeMillis
        return {
          data: page.data.map((view): CallResponse => presentCall(view, settings, now)),
          total: page.total,
          limit: page.limit,
          offset: page.offset,
          next_cursor: page.nextCursor,
          has_more: page.hasMore
        }
      }))
    .handle("callStats", ({ urlParams }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        return (yield* ledger.stats({
          campaignId: urlParams.campaign_id,
          from: rangeBound(urlParams.from ?? urlParams.date_from, "start"),
          to: rangeBound(urlParams.to ?? urlParams.date_to, "end")
        })) as never
      }))
    .handle("liveCalls", () =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const settings = yield* LedgerSettings
        const now = yield* Clock.currentTimeMillis
        const live = yield* ledger.liveCalls()
        return { data: live.map((view) => presentCall(view, settings, now)), total: live.length }
      }))
    .handle("getCall", ({ path }) => present(path.id))
    .handle("getTranscript", ({ path }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const transcript = yield* ledger.getTranscript(path.id)
        if (transcript === null) return yield* Effect.fail(new CallNotFoundError({ message: `call ${path.id} not found`, call_id: path.id }))
        return transcript as never
      }))
    .handle("createCall", ({ payload, headers }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const key = headers["idempotency-key"]
        const callId = key === undefined ? newCallId() : callIdForIdempotencyKey(key)
        const command = dialCommandForBody(callId, payload, key ?? randomUUID(), yield* nowIso)
        yield* ledger.execute(command).pipe(Effect.mapError(ruleToHttpError), Effect.catchTag("CallNotFound", Effect.die))
        // The write waited for the projections, so the view is there.
        return yield* present(callId).pipe(Effect.orDie)
      }))
    .handle("reportEvent", ({ path, payload, headers }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const command = commandForReport(path.id, payload, headers["idempotency-key"] ?? randomUUID(), yield* nowIso)
        const result = yield* ledger.execute(command).pipe(Effect.mapError(ruleToHttpError))
        return {
          call_id: path.id,
          appended: result.events.map((e) => e.type),
          revision: Number(result.revision),
          call: yield* present(path.id)
        }
      }))
)

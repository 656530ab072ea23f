/**
 * Handlers of the `calls` group: the Calls API over the `CallLedger` service, and of the
 * `recordings` group. Placing calls is in `outboundCalls.ts`, seed 002's workflow actions in
 * `liveCallControl.ts`, signed recording URLs in `recordingAccess.ts`.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect } from "effect"
import { randomUUID } from "node:crypto"
import { positionToString } from "../store/position.js"
import { InvalidRequest } from "./apiErrors.js"
import { CallLedger } from "./callLedger.js"
import type { CallListFilter } from "./callLedger.js"
import { presentCall, presentCallById, presentStoredCall } from "./callPresenter.js"
import type { ListCallsQuery } from "./callRequests.js"
import type { CallStatsResponse } from "./callResponses.js"
import { CallLedgerApi } from "./callsApi.js"
import { LedgerSettings } from "./ledgerConfig.js"
import { agentAvailability, endCall, mergeMetadata, transferCall } from "./liveCallControl.js"
import { createBatch, createCall, getBatch } from "./outboundCalls.js"
import { getRecording } from "./recordingAccess.js"
import { commandForReport } from "./reportCommands.js"
import { callNotFound, ruleToHttpError } from "./ruleErrors.js"
import { nowIso } from "./currentInstant.js"


/** `GET /v1/calls/{id}/events` without `limit`: a call's whole history in most cases (~10 to 60 events). */
const defaultEventsPerPage = 100

const dateOnly = /^\d{4}-\d{2}-\d{2}$/

/** A range bound as an instant: a date alone means the start (`from`) or the end (`to`) of that UTC day. */
export const rangeBound = (value: string | undefined, edge: "start" | "end"): string | undefined => {
  if (value === undefined) return undefined
  if (dateOnly.test(value)) return edge === "start" ? `${value}T00:00:00.000Z` : `${value}T23:59:59.999Z`
  return new Date(Date.parse(value)).toISOString()
}

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
        // The calls are written out as stored (JSON text, `presentStoredCall`), not parsed, checked
        // against the success schema and written again: that was most of a list request's CPU
        // after the query (`npm run bench`). The page's other fields are `CallPage`'s.
        const data = page.stored.map((stored) => presentStoredCall(stored, settings, now)).join(",")
        return HttpServerResponse.text(
          `{"data":[${data}],"total":${page.total},"limit":${page.limit},"offset":${page.offset},` +
            `"next_cursor":${JSON.stringify(page.nextCursor)},"has_more":${page.hasMore}}`,
          { contentType: "application/json" }
        )
      }))
    .handle("callStats", ({ urlParams }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const stats: typeof CallStatsResponse.Type = yield* ledger.stats({
          campaignId: urlParams.campaign_id,
          from: rangeBound(urlParams.from ?? urlParams.date_from, "start"),
          to: rangeBound(urlParams.to ?? urlParams.date_to, "end")
        })
        // Written as it is rather than encoded through `CallStatsResponse` again: its fields are
        // numbers and strings with the schema's keys (`sameStatsKeys` in callResponses.ts), and
        // checking a 100-day series on every request allocated half of the request's ~0.9 MB
        // (`npm run bench`, stats tails). Keys come in `readCallStats`'s order.
        return HttpServerResponse.unsafeJson(stats)
      }))
    .handle("liveCalls", () =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const settings = yield* LedgerSettings
        const now = yield* Clock.currentTimeMillis
        const live = yield* ledger.liveCalls()
        return { data: live.map((view) => presentCall(view, settings, now)), total: live.length }
      }))
    .handle("getCall", ({ path }) => presentCallById(path.id))
    .handle("getTranscript", ({ path }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const transcript = yield* ledger.getTranscript(path.id)
        if (transcript === null) return yield* Effect.fail(callNotFound(path.id))
        return transcript as never
      }))
    .handle("createCall", ({ payload, headers }) => createCall(payload, headers["idempotency-key"]))
    .handle("reportEvent", ({ path, payload, headers }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const command = commandForReport(path.id, payload, headers["idempotency-key"] ?? randomUUID(), yield* nowIso)
        const result = yield* ledger.execute(command).pipe(Effect.mapError(ruleToHttpError))
        const stored = yield* ledger.getStoredCall(path.id)
        if (stored === null) return yield* Effect.fail(callNotFound(path.id))
        const settings = yield* LedgerSettings
        const now = yield* Clock.currentTimeMillis
        // The agent pipeline's hot path: `EventReportResult` written out directly, the call as
        // stored (`presentStoredCall`), not parsed, checked against the success schema and
        // written again (`npm run bench`, HTTP ingest).
        return HttpServerResponse.text(
          `{"call_id":${JSON.stringify(path.id)},"appended":${JSON.stringify(result.events.map((e) => e.type))},` +
            `"revision":${Number(result.revision)},"call":${presentStoredCall(stored, settings, now)}}`,
          { contentType: "application/json" }
        )
      }))
    .handle("getCallEvents", ({ path, urlParams }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const limit = urlParams.limit ?? defaultEventsPerPage
        // One event more than the page tells whether another page follows.
        const read = yield* ledger.callHistory(path.id, { fromRevision: BigInt(urlParams.from_revision ?? 0), maxCount: limit + 1 })
        if (read === null) return yield* Effect.fail(callNotFound(path.id))
        const hasMore = read.length > limit
        const events = hasMore ? read.slice(0, limit) : read
        return {
          call_id: path.id,
          next_revision: hasMore ? Number(events[events.length - 1]!.revision) + 1 : null,
          has_more: hasMore,
          events: events.map((e) => ({
            event_id: e.eventId,
            type: e.type,
            revision: Number(e.revision),
            position: positionToString(e.position),
            occurred_at: e.metadata.occurredAt,
            recorded_at: e.metadata.recordedAt,
            data: e.data,
            metadata: {
              schema_version: e.metadata.schemaVersion,
              command_id: e.metadata.commandId,
              correlation_id: e.metadata.correlationId,
              causation_id: e.metadata.causationId
            }
          }))
        }
      }))
    .handle("searchCalls", ({ payload }) =>
      Effect.gen(function*() {
        const ledger = yield* CallLedger
        const settings = yield* LedgerSettings
        const views = yield* ledger.getCalls(payload.call_ids)
        const now = yield* Clock.currentTimeMillis
        const found = new Set(views.map((v) => v.id))
        return {
          data: views.map((view) => presentCall(view, settings, now)),
          not_found: [...new Set(payload.call_ids.filter((id) => !found.has(id)))]
        }
      }))
    .handle("createBatch", ({ payload, headers }) => createBatch(payload, headers["idempotency-key"]))
    .handle("getBatch", ({ path }) => getBatch(path.id))
    .handle("agentAvailability", ({ urlParams }) => agentAvailability(urlParams.target))
    .handle("mergeMetadata", ({ path, payload, headers }) => mergeMetadata(path.id, payload, headers["idempotency-key"]))
    .handle("transferCall", ({ path, payload, headers }) => transferCall(path.id, payload, headers["idempotency-key"]))
    .handle("endCall", ({ path, payload, headers }) => endCall(path.id, payload, headers["idempotency-key"]))
)

/** Handlers of the `recordings` group: signed recording URLs. */
export const RecordingsHandlers = HttpApiBuilder.group(CallLedgerApi, "recordings", (handlers) =>
  handlers.handle("getRecording", ({ path, urlParams }) => getRecording(path.id, urlParams))
)

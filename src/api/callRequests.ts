/**
 * Request bodies and query strings of the Calls API, in snake_case JSON. Unknown fields are
 * refused (400 naming the field), never ignored.
 */
import { Schema } from "effect"
import {
  AnsweredBy, CallStatus, CallType, Direction, Disposition, E164, EndReason, EndStatus, JsonObject, LanguageTag,
  Outcome, Sentiment, Speaker, WorkflowEndReason
} from "../domain/values.js"
import { hasLoneSurrogate } from "../store/uuidV5.js"

const strict = { parseOptions: { onExcessProperty: "error" } } as const
const optional = Schema.optional

/** An ISO-8601 instant (`2024-02-01T09:14:03Z`) or date (`2024-02-01`). */
export const IsoDateTime = Schema.String.pipe(
  Schema.filter((s) => /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: () => "an ISO 8601 date or date-time, e.g. 2024-01-01T00:00:00Z"
  }),
  Schema.annotations({ identifier: "IsoDateTime" })
)

/**
 * `POST /v1/calls`. Accepts seed 001's body (`phone`, `name`, `script_id`, `language`, `metadata`),
 * seed 002's (`to`, `campaign_id`, `contact_name`, `metadata`) and seed 004's (`to_number`,
 * `from_number`, `agent_id`). Exactly one of `phone`, `to`, `to_number` names the destination (E.164).
 */
export const CreateCallBody = Schema.Struct({
  phone: optional(E164),
  to: optional(E164),
  to_number: optional(E164),
  name: optional(Schema.String.pipe(Schema.maxLength(200))),
  contact_name: optional(Schema.String.pipe(Schema.maxLength(200))),
  contact_id: optional(Schema.String),
  from_number: optional(E164),
  script_id: optional(Schema.String),
  campaign_id: optional(Schema.NullOr(Schema.String)),
  agent_id: optional(Schema.String),
  agent_name: optional(Schema.String),
  language: optional(LanguageTag),
  metadata: optional(JsonObject),
  call_sid: optional(Schema.String)
}).pipe(
  Schema.annotations(strict),
  Schema.filter((body) => {
    const given = [body.phone, body.to, body.to_number].filter((v) => v !== undefined)
    if (given.length === 1) return true
    return {
      path: ["phone"],
      message: given.length === 0
        ? "the destination is required: phone (or to, or to_number), in E.164"
        : "give only one of phone, to, to_number"
    }
  }),
  Schema.annotations({ identifier: "CreateCallBody" })
)
export type CreateCallBody = typeof CreateCallBody.Type

/**
 * A command id: it names the events' ids (UUID v5 of its UTF-8 bytes, `store/uuidV5.ts`), and a
 * lone UTF-16 surrogate has no UTF-8 form (encoders write U+FFFD, so `"\ud800"` and `"\ufffd"`
 * would name the same events).
 */
const CommandId = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(200),
  Schema.filter((s) => !hasLoneSurrogate(s), { message: () => "command_id must be well-formed Unicode (a lone surrogate such as \ud800 is not)" })
)

const base = {
  /** Idempotency key of this report: the same id sent again appends nothing new. Also `Idempotency-Key`. */
  command_id: optional(CommandId),
  /** When it happened at the source; default: when the ledger receives it. */
  occurred_at: optional(IsoDateTime)
}

const Segment = Schema.Struct({
  speaker: Speaker,
  text: Schema.String,
  start_time: Schema.Number.pipe(Schema.nonNegative()),
  end_time: Schema.Number.pipe(Schema.nonNegative()),
  confidence: optional(Schema.NullOr(Schema.Number.pipe(Schema.between(0, 1))))
}).pipe(Schema.annotations(strict))

/**
 * `POST /v1/calls/{id}/events`: what the agent pipeline reports, by `type`. Speech-to-text segments
 * in seconds from the answer; latencies in ms; cost in credits (seed 003).
 */
export const CallEventReport = Schema.Union(
  Schema.Struct({ type: Schema.Literal("answered"), answered_by: optional(AnsweredBy), ...base }).pipe(Schema.annotations(strict)),
  Schema.Struct({
    type: Schema.Literal("transcribed"),
    segments: Schema.Array(Segment),
    language: optional(LanguageTag),
    final: optional(Schema.Boolean),
    job_id: optional(Schema.String),
    ...base
  }).pipe(Schema.annotations(strict)),
  Schema.Struct({
    type: Schema.Literal("dispositioned"),
    disposition: optional(Schema.NullOr(Disposition)),
    outcome: optional(Schema.NullOr(Outcome)),
    sentiment: optional(Schema.NullOr(Sentiment)),
    sentiment_score: optional(Schema.NullOr(Schema.Struct({
      overall: Schema.Number.pipe(Schema.between(-1, 1)),
      by_speaker: optional(Schema.Record({ key: Schema.String, value: Schema.Number.pipe(Schema.between(-1, 1)) }))
    }))),
    summary: optional(Schema.NullOr(Schema.String)),
    key_details: optional(Schema.NullOr(JsonObject)),
    ...base
  }).pipe(Schema.annotations(strict)),
  Schema.Struct({
    type: Schema.Literal("transferred"),
    target: Schema.String.pipe(Schema.minLength(1)),
    agent_brief: optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(280)))),
    context: optional(JsonObject),
    ...base
  }).pipe(Schema.annotations(strict)),
  Schema.Struct({
    type: Schema.Literal("ended"),
    reason: EndReason,
    status: optional(EndStatus),
    outcome: optional(Outcome),
    duration_seconds: optional(Schema.Int.pipe(Schema.nonNegative())),
    error_reason: optional(Schema.NullOr(Schema.String)),
    ...base
  }).pipe(Schema.annotations(strict)),
  Schema.Struct({
    type: Schema.Literal("recording"),
    recording_url: Schema.String.pipe(Schema.minLength(1)),
    content_type: optional(Schema.String),
    duration_seconds: optional(Schema.NullOr(Schema.Number.pipe(Schema.nonNegative()))),
    ...base
  }).pipe(Schema.annotations(strict)),
  Schema.Struct({
    type: Schema.Literal("metrics"),
    cost: optional(Schema.NullOr(Schema.Number.pipe(Schema.nonNegative()))),
    latency: optional(Schema.NullOr(Schema.Struct({
      transcriber_ms: Schema.Number.pipe(Schema.nonNegative()),
      agent_ms: Schema.Number.pipe(Schema.nonNegative()),
      synthesizer_ms: Schema.Number.pipe(Schema.nonNegative())
    }))),
    provider_usage: optional(Schema.NullOr(JsonObject)),
    ...base
  }).pipe(Schema.annotations(strict)),
  Schema.Struct({ type: Schema.Literal("metadata"), key_details: JsonObject, ...base }).pipe(Schema.annotations(strict))
).pipe(Schema.annotations({ identifier: "CallEventReport" }))
export type CallEventReport = typeof CallEventReport.Type

const IntFromString = Schema.NumberFromString.pipe(Schema.int())

/**
 * `GET /v1/calls` query (seeds 001, 002, 003, 004). `from`/`to` and `date_from`/`date_to` bound the
 * start time, inclusive. `limit` 1..100 (default 20), `offset` from 0; or `cursor` from `next_cursor`.
 */
export const ListCallsQuery = Schema.Struct({
  campaign_id: optional(Schema.String),
  agent_id: optional(Schema.String),
  contact_id: optional(Schema.String),
  direction: optional(Direction),
  call_type: optional(CallType),
  status: optional(CallStatus),
  outcome: optional(Outcome),
  disposition: optional(Disposition),
  sentiment: optional(Sentiment),
  language: optional(LanguageTag),
  from: optional(IsoDateTime),
  to: optional(IsoDateTime),
  date_from: optional(IsoDateTime),
  date_to: optional(IsoDateTime),
  search: optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))),
  min_duration: optional(IntFromString.pipe(Schema.nonNegative())),
  max_duration: optional(IntFromString.pipe(Schema.nonNegative())),
  limit: optional(IntFromString.pipe(Schema.between(1, 100))),
  offset: optional(IntFromString.pipe(Schema.nonNegative())),
  cursor: optional(Schema.String.pipe(Schema.minLength(1)))
}).pipe(Schema.annotations({ ...strict, identifier: "ListCallsQuery" }))
export type ListCallsQuery = typeof ListCallsQuery.Type

/**
 * `GET /v1/calls/{id}/events` query: a page of the call's events, from revision `from_revision`
 * (inclusive, default 0; the response's `next_revision` for the next page), at most `limit`
 * (1..1000, default 100).
 */
export const CallEventsQuery = Schema.Struct({
  from_revision: optional(IntFromString.pipe(Schema.nonNegative())),
  limit: optional(IntFromString.pipe(Schema.between(1, 1000)))
}).pipe(Schema.annotations({ ...strict, identifier: "CallEventsQuery" }))

/** `GET /v1/calls/stats` query (seed 002). */
export const CallStatsQuery = Schema.Struct({
  campaign_id: optional(Schema.String),
  date_from: optional(IsoDateTime),
  date_to: optional(IsoDateTime),
  from: optional(IsoDateTime),
  to: optional(IsoDateTime)
}).pipe(Schema.annotations({ ...strict, identifier: "CallStatsQuery" }))
export type CallStatsQuery = typeof CallStatsQuery.Type

/** `POST /v1/webhooks/endpoints`: a subscriber. `secret` (whsec_…) is generated when not given. */
export const CreateEndpointBody = Schema.Struct({
  url: Schema.String,
  event_types: optional(Schema.Array(Schema.String)),
  description: optional(Schema.String),
  secret: optional(Schema.String)
}).pipe(Schema.annotations({ ...strict, identifier: "CreateEndpointBody" }))
export type CreateEndpointBody = typeof CreateEndpointBody.Type

/** `POST /v1/calls/search` (seed 003 `search_calls(call_ids)`): 1 to 100 call ids. */
export const SearchCallsBody = Schema.Struct({
  call_ids: Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))).pipe(
    Schema.minItems(1),
    Schema.maxItems(100, { message: () => "at most 100 call ids per request" })
  )
}).pipe(Schema.annotations({ ...strict, identifier: "SearchCallsBody" }))
export type SearchCallsBody = typeof SearchCallsBody.Type

/**
 * `POST /v1/calls/batch` (seed 004): `to_numbers` (E.164, 1 to 1000) share `from_number` and
 * `agent_id`; also `campaign_id`, `script_id`, `language` (BCP-47) and `metadata` for every call.
 */
export const CreateBatchBody = Schema.Struct({
  to_numbers: Schema.Array(E164).pipe(Schema.minItems(1), Schema.maxItems(1000)),
  from_number: optional(E164),
  agent_id: optional(Schema.String),
  agent_name: optional(Schema.String),
  campaign_id: optional(Schema.NullOr(Schema.String)),
  script_id: optional(Schema.String),
  language: optional(LanguageTag),
  metadata: optional(JsonObject)
}).pipe(Schema.annotations({ ...strict, identifier: "CreateBatchBody" }))
export type CreateBatchBody = typeof CreateBatchBody.Type

/** `POST /v1/calls/{id}/metadata` (seed 002): structured results merged into the call's `key_details`. */
export const MergeMetadataBody = Schema.Struct({
  key_details: JsonObject
}).pipe(Schema.annotations({ ...strict, identifier: "MergeMetadataBody" }))
export type MergeMetadataBody = typeof MergeMetadataBody.Type

/** `POST /v1/calls/{id}/transfer` (seed 002): the agent queue, a brief of at most 280 characters, any JSON context. */
export const TransferCallBody = Schema.Struct({
  target: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  agent_brief: optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(280, { message: () => "agent_brief is at most 280 characters" })))),
  context: optional(JsonObject)
}).pipe(Schema.annotations({ ...strict, identifier: "TransferCallBody" }))
export type TransferCallBody = typeof TransferCallBody.Type

/** `POST /v1/calls/{id}/end` (seed 002): why. `dnc_request` puts the number on the do-not-call list. */
export const EndCallBody = Schema.Struct({
  reason: WorkflowEndReason
}).pipe(Schema.annotations({ ...strict, identifier: "EndCallBody" }))
export type EndCallBody = typeof EndCallBody.Type

/** `GET /v1/calls/agent-availability?target=` (seed 002). */
export const AgentAvailabilityQuery = Schema.Struct({
  target: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))
}).pipe(Schema.annotations({ ...strict, identifier: "AgentAvailabilityQuery" }))

/** `GET /v1/calls/{id}/recording?expires=&token=`: the signed URL's parameters (seed 001). */
export const RecordingQuery = Schema.Struct({
  expires: optional(Schema.String),
  token: optional(Schema.String)
}).pipe(Schema.annotations({ ...strict, identifier: "RecordingQuery" }))

/** Response bodies of the Calls API (snake_case, as the seeds show them). */
import { Schema, Struct } from "effect"
import type { CallStats, DailyCallStats } from "../projections/callStats.js"
import { CallView } from "../projections/callViewSchema.js"

const N = Schema.NullOr

/**
 * A call as the API shows it: the call view with `recording_url`, a signed URL valid for one hour
 * (seed 001), or null when there is no recording.
 */
export const CallResponse = Schema.Struct({
  ...Struct.omit(CallView.fields, "has_recording"),
  recording_url: N(Schema.String)
}).pipe(Schema.annotations({ identifier: "Call" }))
export type CallResponse = typeof CallResponse.Type

/** `GET /v1/calls`: seed 001's page (`data`, `total`, `limit`, `offset`) plus keyset `next_cursor`/`has_more`. */
export const CallPage = Schema.Struct({
  data: Schema.Array(CallResponse),
  total: Schema.Int,
  limit: Schema.Int,
  offset: Schema.Int,
  next_cursor: N(Schema.String),
  has_more: Schema.Boolean
}).pipe(Schema.annotations({ identifier: "CallPage" }))

const TranscriptSegmentResponse = Schema.Struct({
  speaker: Schema.String,
  text: Schema.String,
  start_time: Schema.Number,
  end_time: Schema.Number,
  confidence: N(Schema.Number)
})

/** `GET /v1/calls/{id}/transcript` (seed 001): `{status: "processing"}` until the final segments arrive. */
export const TranscriptResponse = Schema.Union(
  Schema.Struct({ call_id: Schema.String, status: Schema.Literal("processing") }),
  Schema.Struct({
    call_id: Schema.String,
    job_id: N(Schema.String),
    status: Schema.Literal("completed"),
    language: N(Schema.String),
    duration_seconds: Schema.Number,
    transcript: Schema.Array(TranscriptSegmentResponse),
    summary: N(Schema.String),
    sentiment: N(Schema.Struct({ overall: Schema.Number, by_speaker: Schema.Record({ key: Schema.String, value: Schema.Number }) }))
  })
).pipe(Schema.annotations({ identifier: "Transcript" }))

const Counts = Schema.Record({ key: Schema.String, value: Schema.Int })

/**
 * `GET /v1/calls/stats`: seed 002's fields, counts by disposition, status and language, and a daily
 * series of the same headline numbers per UTC day (definitions in `projections/callStats.ts`).
 */
export const CallStatsResponse = Schema.Struct({
  total_calls: Schema.Int,
  connected: Schema.Int,
  voicemail: Schema.Int,
  no_answer: Schema.Int,
  failed: Schema.Int,
  connect_rate: Schema.Number,
  sentiment_breakdown: Schema.Struct({ positive: Schema.Int, neutral: Schema.Int, negative: Schema.Int }),
  avg_duration_seconds: Schema.Number,
  by_disposition: Counts,
  by_status: Counts,
  by_language: Counts,
  daily: Schema.Array(Schema.Struct({
    date: Schema.String,
    total_calls: Schema.Int,
    connected: Schema.Int,
    voicemail: Schema.Int,
    no_answer: Schema.Int,
    failed: Schema.Int,
    connect_rate: Schema.Number,
    avg_duration_seconds: Schema.Number
  }))
}).pipe(Schema.annotations({ identifier: "CallStats" }))

/** Equal key sets, both ways (extra properties pass a plain assignment). */
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false
/**
 * The stats handler writes `readCallStats`'s result without encoding it through the schema: this
 * fails to compile when a field is added to one and not the other.
 */
export const sameStatsKeys: [
  SameKeys<CallStats, typeof CallStatsResponse.Type>,
  SameKeys<DailyCallStats, (typeof CallStatsResponse.Type)["daily"][number]>
] = [true, true]

/** `GET /v1/calls/live` (seed 002): calls not yet ended, newest first. */
export const LiveCallsResponse = Schema.Struct({
  data: Schema.Array(CallResponse),
  total: Schema.Int
}).pipe(Schema.annotations({ identifier: "LiveCalls" }))

/** Result of `POST /v1/calls/{id}/events`: what the report appended and the call after it. */
export const EventReportResult = Schema.Struct({
  call_id: Schema.String,
  appended: Schema.Array(Schema.String),
  revision: Schema.Number,
  call: CallResponse
}).pipe(Schema.annotations({ identifier: "EventReportResult" }))

/** Result of a Twilio status callback. */
export const TwilioCallbackResult = Schema.Struct({
  call_id: Schema.String,
  appended: Schema.Array(Schema.String)
})

/** A webhook endpoint (subscriber). `secret` is the `whsec_` key receivers verify signatures with. */
export const EndpointResponse = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  secret: Schema.String,
  event_types: Schema.Array(Schema.String),
  description: N(Schema.String),
  enabled: Schema.Boolean,
  created_at: Schema.String
}).pipe(Schema.annotations({ identifier: "WebhookEndpoint" }))

/** A webhook delivery and its state (at-least-once; `id` is the `webhook-id` header). */
export const DeliveryResponse = Schema.Struct({
  id: Schema.String,
  endpoint_id: Schema.String,
  event_type: Schema.String,
  status: Schema.String,
  attempt_count: Schema.Int,
  next_attempt_at: N(Schema.String),
  created_at: Schema.String,
  last_attempt_at: N(Schema.String),
  last_status_code: N(Schema.Int),
  last_error: N(Schema.String),
  delivered_at: N(Schema.String),
  call_id: Schema.String,
  /** The exact message sent: `{type, timestamp, data}`. */
  payload: Schema.Unknown
}).pipe(Schema.annotations({ identifier: "WebhookDelivery" }))

/** A delivery with every attempt: when, how long (ms), the HTTP status or the error. */
export const DeliveryDetailResponse = Schema.Struct({
  ...DeliveryResponse.fields,
  attempts: Schema.Array(Schema.Struct({
    attempt: Schema.Int,
    started_at: Schema.String,
    duration_ms: Schema.Number,
    status_code: N(Schema.Int),
    error: N(Schema.String),
    response_snippet: N(Schema.String)
  }))
}).pipe(Schema.annotations({ identifier: "WebhookDeliveryDetail" }))

/**
 * `GET /v1/calls/{id}/events`: the call's history as the log holds it, for audit. `data` is the
 * event's data as stored (camelCase, instants ISO-8601); `revision` is 0-based in stream
 * `call-<id>`; `position` is the event's place in the whole log.
 */
export const CallEventsResponse = Schema.Struct({
  call_id: Schema.String,
  events: Schema.Array(Schema.Struct({
    event_id: Schema.String,
    type: Schema.String,
    revision: Schema.Int,
    position: Schema.String,
    occurred_at: Schema.String,
    recorded_at: Schema.String,
    data: Schema.Unknown,
    metadata: Schema.Struct({
      schema_version: Schema.Int,
      command_id: Schema.String,
      correlation_id: Schema.String,
      causation_id: N(Schema.String)
    })
  })),
  /** `from_revision` of the next page; null on the last page. */
  next_revision: N(Schema.Int),
  /** Whether events follow this page (then `next_revision` is set). */
  has_more: Schema.Boolean
}).pipe(Schema.annotations({ identifier: "CallEvents" }))

/** `POST /v1/calls/search` (seed 003): the calls found, in the order asked, and the ids not found. */
export const CallSearchResponse = Schema.Struct({
  data: Schema.Array(CallResponse),
  not_found: Schema.Array(Schema.String)
}).pipe(Schema.annotations({ identifier: "CallSearchResult" }))

/** `POST /v1/calls/batch` (seed 004): 202 with the batch's id. */
export const BatchAcceptedResponse = Schema.Struct({
  batch_id: Schema.String,
  total: Schema.Int,
  status: Schema.Literal("queued")
}).pipe(Schema.annotations({ identifier: "BatchAccepted" }))

/**
 * `GET /v1/calls/batch/{id}` (seed 004): counts and each number in order: `queued` (waiting its
 * turn), `initiated` (handed to the dialer; `call_sid` once the provider named it) or `failed`
 * (`error` says why). `call_id` is the ledger's call, null when none was recorded.
 */
export const BatchStatusResponse = Schema.Struct({
  batch_id: Schema.String,
  status: Schema.Literal("queued", "in_progress", "completed"),
  total: Schema.Int,
  queued: Schema.Int,
  initiated: Schema.Int,
  failed: Schema.Int,
  created_at: Schema.String,
  calls: Schema.Array(Schema.Struct({
    to_number: Schema.String,
    status: Schema.Literal("queued", "initiated", "failed"),
    call_id: N(Schema.String),
    call_sid: N(Schema.String),
    error: N(Schema.String)
  }))
}).pipe(Schema.annotations({ identifier: "BatchStatus" }))

/** `GET /v1/calls/agent-availability` (seed 002): `queue_depth` is the live calls transferred to the queue, `agents` its size. */
export const AgentAvailabilityResponse = Schema.Struct({
  target: Schema.String,
  available: Schema.Boolean,
  queue_depth: Schema.Int,
  agents: Schema.Int,
  checked_at: Schema.String
}).pipe(Schema.annotations({ identifier: "AgentAvailability" }))

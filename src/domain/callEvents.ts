/**
 * The call lifecycle events, as stored in stream `call-<callId>`. Each event is `{ type, data }`;
 * `data` is plain JSON (instants as ISO-8601 strings, durations in seconds, latencies in ms).
 * Fields come from the seeds: 001 (contact, campaign, language, transcript, disposition,
 * recording), 002 (outcome, sentiment, summary, key_details, transfer), 003 (cost, latency
 * breakdown, disconnection reason), 004 (direction, call SID, provider usage).
 */
import { Schema } from "effect"
import {
  AnsweredBy, CallId, CallType, Direction, Disposition, E164, EndReason, EndStatus, Instant, JsonObject,
  LanguageTag, Outcome, Sentiment, Speaker
} from "./values.js"

const Nullable = <S extends Schema.Schema.Any>(s: S) => Schema.NullOr(s)

/** The person on the other end of the line (seed 001 `contact`). */
export const Contact = Schema.Struct({
  phone: E164,
  name: Nullable(Schema.String),
  id: Nullable(Schema.String)
})
export type Contact = typeof Contact.Type

/** A call was placed or arrived: it exists from here on, `queued` (ours to dial) or `initiated` (telephony has it). */
export const CallDialed = Schema.Struct({
  callId: CallId,
  direction: Direction,
  callType: CallType,
  status: Schema.Literal("queued", "initiated"),
  from: Nullable(E164),
  to: Nullable(E164),
  contact: Contact,
  campaignId: Nullable(Schema.String),
  agentId: Nullable(Schema.String),
  agentName: Nullable(Schema.String),
  scriptId: Nullable(Schema.String),
  language: Nullable(LanguageTag),
  metadata: JsonObject,
  provider: Nullable(Schema.String),
  callSid: Nullable(Schema.String),
  at: Instant
})

/** Telephony accepted the call and gave it an id (Twilio `initiated`, with its CallSid). */
export const CallInitiated = Schema.Struct({
  callId: CallId,
  callSid: Nullable(Schema.String),
  sequenceNumber: Nullable(Schema.Int),
  at: Instant
})

/** The far end is ringing (Twilio `ringing`). */
export const CallRinging = Schema.Struct({
  callId: CallId,
  sequenceNumber: Nullable(Schema.Int),
  at: Instant
})

/** The call was answered (Twilio `in-progress`, or the agent pipeline); `answeredBy` from answering machine detection. */
export const CallAnswered = Schema.Struct({
  callId: CallId,
  answeredBy: AnsweredBy,
  sequenceNumber: Nullable(Schema.Int),
  at: Instant
})

/** One transcript segment (seed 001): times in seconds from the answer, confidence 0..1. */
export const TranscriptSegment = Schema.Struct({
  speaker: Speaker,
  text: Schema.String,
  startTime: Schema.Number.pipe(Schema.nonNegative()),
  endTime: Schema.Number.pipe(Schema.nonNegative()),
  confidence: Nullable(Schema.Number.pipe(Schema.between(0, 1)))
})
export type TranscriptSegment = typeof TranscriptSegment.Type

/** Speech-to-text produced segments; `final` closes the transcript (its view turns `completed`). */
export const CallTranscribed = Schema.Struct({
  callId: CallId,
  segments: Schema.Array(TranscriptSegment),
  language: Nullable(LanguageTag),
  final: Schema.Boolean,
  jobId: Nullable(Schema.String),
  at: Instant
})

/** Sentiment scores in -1..1, overall and per speaker (seed 001 transcript `sentiment`). */
export const SentimentScore = Schema.Struct({
  overall: Schema.Number.pipe(Schema.between(-1, 1)),
  bySpeaker: Schema.Record({ key: Schema.String, value: Schema.Number.pipe(Schema.between(-1, 1)) })
})
export type SentimentScore = typeof SentimentScore.Type

/** Post-call analysis: disposition (seed 001), outcome, sentiment, summary and key_details (seed 002). */
export const CallDispositioned = Schema.Struct({
  callId: CallId,
  disposition: Nullable(Disposition),
  outcome: Nullable(Outcome),
  sentiment: Nullable(Sentiment),
  sentimentScore: Nullable(SentimentScore),
  summary: Nullable(Schema.String),
  keyDetails: Nullable(JsonObject),
  at: Instant
})

/** The call was bridged to a human agent queue (seed 002 transfer). `agentBrief` is at most 280 characters. */
export const CallTransferred = Schema.Struct({
  callId: CallId,
  target: Schema.String,
  agentBrief: Nullable(Schema.String.pipe(Schema.maxLength(280))),
  context: JsonObject,
  at: Instant
})

/** The call ended. `durationSeconds` runs from answer to end, 0 when never connected (seed 001). */
export const CallEnded = Schema.Struct({
  callId: CallId,
  status: EndStatus,
  outcome: Outcome,
  reason: EndReason,
  durationSeconds: Schema.Int.pipe(Schema.nonNegative()),
  errorReason: Nullable(Schema.String),
  sequenceNumber: Nullable(Schema.Int),
  at: Instant
})

/** A recording exists: `recordingRef` is the provider's reference (URL or file name), never shown to API users as is. */
export const CallRecordingAttached = Schema.Struct({
  callId: CallId,
  recordingRef: Schema.String,
  contentType: Schema.String,
  durationSeconds: Nullable(Schema.Number.pipe(Schema.nonNegative())),
  at: Instant
})

/** A workflow wrote structured results back; merged into `key_details` (seed 002 metadata write-back). */
export const CallMetadataMerged = Schema.Struct({
  callId: CallId,
  keyDetails: JsonObject,
  at: Instant
})

/** Latency breakdown averages in milliseconds (seed 003 performance metrics). */
export const LatencyBreakdown = Schema.Struct({
  transcriberMs: Schema.Number.pipe(Schema.nonNegative()),
  agentMs: Schema.Number.pipe(Schema.nonNegative()),
  synthesizerMs: Schema.Number.pipe(Schema.nonNegative())
})
export type LatencyBreakdown = typeof LatencyBreakdown.Type

/** Cost and usage of the call: credits (seed 003 `callCost`), providers and models (seed 004 `provider_usage`). */
export const CallMetricsRecorded = Schema.Struct({
  callId: CallId,
  cost: Nullable(Schema.Number.pipe(Schema.nonNegative())),
  latency: Nullable(LatencyBreakdown),
  providerUsage: Nullable(JsonObject),
  at: Instant
})

const event = <T extends string, D extends Schema.Schema.Any>(type: T, data: D) =>
  Schema.Struct({ type: Schema.Literal(type), data })

/** Every call event, discriminated by `type`. */
export const CallEvent = Schema.Union(
  event("CallDialed", CallDialed),
  event("CallInitiated", CallInitiated),
  event("CallRinging", CallRinging),
  event("CallAnswered", CallAnswered),
  event("CallTranscribed", CallTranscribed),
  event("CallDispositioned", CallDispositioned),
  event("CallTransferred", CallTransferred),
  event("CallEnded", CallEnded),
  event("CallRecordingAttached", CallRecordingAttached),
  event("CallMetadataMerged", CallMetadataMerged),
  event("CallMetricsRecorded", CallMetricsRecorded)
)
export type CallEvent = typeof CallEvent.Type
export type CallEventType = CallEvent["type"]
/** The `data` of the event of type `T`. */
export type CallEventData<T extends CallEventType> = Extract<CallEvent, { type: T }>["data"]

/** All event type names, e.g. for a subscription's server-side filter. */
export const callEventTypes: ReadonlyArray<CallEventType> = [
  "CallDialed", "CallInitiated", "CallRinging", "CallAnswered", "CallTranscribed", "CallDispositioned",
  "CallTransferred", "CallEnded", "CallRecordingAttached", "CallMetadataMerged", "CallMetricsRecorded"
]

/** Stream of one call: `call-<callId>` (one stream per aggregate, as EventStoreDB names them). */
export const callStreamId = (callId: string): string => `call-${callId}`
/** Prefix of every call stream, for `$all` filters. */
export const callStreamPrefix = "call-"

/**
 * The call view: one row per call, every field the seeds' call records share, in snake_case JSON.
 * Seed 001: id, campaign_id, contact, status, disposition, duration_seconds, language, started_at,
 * ended_at, transcript_job_id, recording_url. Seed 002: from/to numbers, outcome, sentiment,
 * summary, key_details, call_type. Seed 003: cost, latency breakdown, disconnection reason.
 * Seed 004: call_sid, direction, agent_name, error_reason, provider_usage.
 * `has_recording` is the projection's fact; the API turns it into a signed `recording_url`.
 */
import { Schema } from "effect"
import {
  CallStatus, CallType, Direction, Disposition, EndReason, JsonObject, Outcome, Sentiment
} from "../domain/values.js"

const N = Schema.NullOr

export const CallViewContact = Schema.Struct({
  id: N(Schema.String),
  phone: Schema.String,
  name: N(Schema.String)
})

export const CallViewTransfer = Schema.Struct({
  target: Schema.String,
  agent_brief: N(Schema.String),
  context: JsonObject,
  at: Schema.String
})

export const CallViewLatency = Schema.Struct({
  average_transcriber_latency: Schema.Number,
  average_agent_latency: Schema.Number,
  average_synthesizer_latency: Schema.Number
})

export const CallViewSentimentScore = Schema.Struct({
  overall: Schema.Number,
  by_speaker: Schema.Record({ key: Schema.String, value: Schema.Number })
})

/** A call as the read side shows it. Instants are ISO-8601 UTC; durations in seconds; latencies in ms. */
export const CallView = Schema.Struct({
  id: Schema.String,
  campaign_id: N(Schema.String),
  agent_id: N(Schema.String),
  agent_name: N(Schema.String),
  script_id: N(Schema.String),
  contact: CallViewContact,
  direction: Direction,
  call_type: CallType,
  from_number: N(Schema.String),
  to_number: N(Schema.String),
  call_sid: N(Schema.String),
  status: CallStatus,
  disposition: N(Disposition),
  outcome: N(Outcome),
  sentiment: N(Sentiment),
  sentiment_score: N(CallViewSentimentScore),
  language: N(Schema.String),
  duration_seconds: Schema.Int,
  started_at: Schema.String,
  answered_at: N(Schema.String),
  ended_at: N(Schema.String),
  summary: N(Schema.String),
  disconnection_reason: N(EndReason),
  error_reason: N(Schema.String),
  transfer: N(CallViewTransfer),
  transcript_job_id: N(Schema.String),
  has_recording: Schema.Boolean,
  metadata: JsonObject,
  key_details: JsonObject,
  cost: N(Schema.Number),
  latency: N(CallViewLatency),
  provider_usage: N(JsonObject),
  /** Revision of the call stream last applied: an ETag for the record. */
  revision: Schema.Number,
  updated_at: Schema.String
})
export type CallView = typeof CallView.Type

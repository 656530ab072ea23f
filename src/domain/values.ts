/**
 * Value types shared by call events, commands and views.
 * Sources: seed 001 (dispositions, BCP-47 language), seed 002 (outcome, sentiment, end reasons),
 * seed 003 (status, call_type, disconnection reasons), seed 004 (direction, call SID).
 */
import { Schema } from "effect"

/** A phone number in E.164: `+` then 8 to 15 digits, the first not 0 (ITU-T E.164 §6). */
export const E164 = Schema.String.pipe(
  Schema.pattern(/^\+[1-9]\d{7,14}$/),
  Schema.annotations({ identifier: "E164", description: "E.164 phone number, e.g. +919876543210" })
)
export type E164 = typeof E164.Type

const canonicalTags = new Map<string, string | null>()

/**
 * The canonical form of a BCP-47 tag (RFC 5646 §4.5, by `Intl.getCanonicalLocales`: `hi-in` ->
 * `hi-IN`), or null when `tag` is not one. Remembers the first 10 000 tags it was asked about:
 * every report and every projected call asks, and ICU's answer costs microseconds.
 */
export const canonicalLanguageTag = (tag: string): string | null => {
  let canonical = canonicalTags.get(tag)
  if (canonical === undefined) {
    try {
      const tags = Intl.getCanonicalLocales(tag)
      canonical = tags.length === 1 ? tags[0]! : null
    } catch {
      canonical = null
    }
    if (canonicalTags.size < 10_000) canonicalTags.set(tag, canonical)
  }
  return canonical
}

/**
 * A BCP-47 language tag (RFC 5646), checked by `Intl.getCanonicalLocales`, e.g. `hi-IN`, `en-IN`.
 * Kept as written; tags differing only in case are the same language.
 */
export const LanguageTag = Schema.String.pipe(
  Schema.filter((tag) => canonicalLanguageTag(tag) !== null && /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(tag), {
    message: () => "a BCP-47 language tag such as en-IN"
  }),
  Schema.annotations({ identifier: "LanguageTag", description: "BCP-47 language tag, e.g. hi-IN" })
)
export type LanguageTag = typeof LanguageTag.Type

/** Identifier of a call: `cal_` and 1 to 60 letters, digits, `_` or `-` (seed 001 shape `cal_9Hm3kP7qZ`). */
export const CallId = Schema.String.pipe(
  Schema.pattern(/^cal_[A-Za-z0-9_-]{1,60}$/),
  Schema.annotations({ identifier: "CallId", description: "call id, e.g. cal_9Hm3kP7qZ" })
)
export type CallId = typeof CallId.Type

/** Who placed the call relative to the platform (seed 004 `direction`). */
export const Direction = Schema.Literal("inbound", "outbound")
export type Direction = typeof Direction.Type

/** Channel of the call (seed 003 `call_type`; `web` is a browser or chat session). */
export const CallType = Schema.Literal("telephony_outbound", "telephony_inbound", "web", "chat")
export type CallType = typeof CallType.Type

/**
 * Status of a call as the views show it. Seed 001: in_progress, completed, failed; seed 003 adds
 * no_answer and busy; seed 004 adds queued. `initiated` and `ringing` follow Twilio's CallStatus.
 */
export const CallStatus = Schema.Literal(
  "queued", "initiated", "ringing", "in_progress", "completed", "failed", "no_answer", "busy", "canceled"
)
export type CallStatus = typeof CallStatus.Type

/** The statuses a call ends in (the event `CallEnded`). */
export const EndStatus = Schema.Literal("completed", "failed", "no_answer", "busy", "canceled")
export type EndStatus = typeof EndStatus.Type

/** How the call went, for stats (seed 002 `outcome`): connected, voicemail, no-answer, failed. */
export const Outcome = Schema.Literal("connected", "voicemail", "no-answer", "failed")
export type Outcome = typeof Outcome.Type

/** The agent's business disposition of a call (seed 001). `dnd` puts the number on the do-not-call list. */
export const Disposition = Schema.Literal("interested", "not_interested", "callback", "not_reachable", "dnd", "escalated")
export type Disposition = typeof Disposition.Type

/** Sentiment label (seed 002 `sentiment`). */
export const Sentiment = Schema.Literal("positive", "neutral", "negative")
export type Sentiment = typeof Sentiment.Type

/**
 * Why the call ended. Seed 003 `disconnectionReason` (user_hangup, agent_hangup, dial_no_answer,
 * timeout), seed 002 end reasons (dnc_request, wrong_number, hostile_caller, workflow_close), and
 * the telephony failures of Twilio's CallStatus (dial_busy, dial_failed, canceled), plus `transferred`.
 */
export const EndReason = Schema.Literal(
  "user_hangup", "agent_hangup", "dial_no_answer", "dial_busy", "dial_failed", "timeout", "canceled",
  "transferred", "dnc_request", "wrong_number", "hostile_caller", "workflow_close"
)
export type EndReason = typeof EndReason.Type

/** Reasons a workflow may give to `POST /v1/calls/{id}/end` (seed 002). */
export const WorkflowEndReason = Schema.Literal("dnc_request", "wrong_number", "hostile_caller", "workflow_close")
export type WorkflowEndReason = typeof WorkflowEndReason.Type

/** Who answered, as Twilio's answering machine detection reports it (`AnsweredBy`), folded to three values. */
export const AnsweredBy = Schema.Literal("human", "machine", "unknown")
export type AnsweredBy = typeof AnsweredBy.Type

/** Speaker of a transcript segment (seed 001). */
export const Speaker = Schema.Literal("agent", "customer")
export type Speaker = typeof Speaker.Type

/** A JSON object of free-form key/value pairs (metadata, key_details, transfer context). */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type JsonObject = typeof JsonObject.Type

/** An instant as an ISO-8601 UTC string, e.g. `2024-02-01T09:14:03.000Z`. */
export const Instant = Schema.String.pipe(
  Schema.filter((s) => !Number.isNaN(Date.parse(s)), { message: () => "an ISO-8601 date-time" }),
  Schema.annotations({ identifier: "Instant", description: "ISO-8601 date-time" })
)
export type Instant = typeof Instant.Type

/**
 * Errors the HTTP API answers with. Every error body is JSON with `_tag` and `message`; a 400 also
 * names the field (`field`, or `issues[].path` for schema violations from HttpApi's decoder).
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"

/** 400: a field of the request is missing or wrong; nothing was written. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  field: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

/** 404: no call with this id. */
export class CallNotFoundError extends Schema.TaggedError<CallNotFoundError>()("CallNotFound", {
  message: Schema.String,
  call_id: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

/** 409: the command breaks a lifecycle rule (e.g. a transfer on a call that is not active). */
export class CallConflict extends Schema.TaggedError<CallConflict>()("CallConflict", {
  message: Schema.String,
  call_id: Schema.String,
  rule: Schema.String
}, HttpApiSchema.annotations({ status: 409 })) {}

/** 403: `X-Twilio-Signature` missing or not Twilio's signature of this request. */
export class InvalidTwilioSignature extends Schema.TaggedError<InvalidTwilioSignature>()("InvalidTwilioSignature", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 403 })) {}

/** 404: no webhook endpoint with this id. */
export class EndpointNotFound extends Schema.TaggedError<EndpointNotFound>()("EndpointNotFound", {
  message: Schema.String,
  endpoint_id: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

/** 404: no webhook delivery with this id. */
export class DeliveryNotFound extends Schema.TaggedError<DeliveryNotFound>()("DeliveryNotFound", {
  message: Schema.String,
  delivery_id: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

/** 409: the delivery's endpoint is disabled, so it cannot be sent again. */
export class EndpointDisabled extends Schema.TaggedError<EndpointDisabled>()("EndpointDisabled", {
  message: Schema.String,
  endpoint_id: Schema.String
}, HttpApiSchema.annotations({ status: 409 })) {}

/** 401: no `Authorization: Bearer clk_...` header, or the key is unknown or revoked. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 401, description: "No valid API key: send `Authorization: Bearer clk_...`" })) {}

/** 403: the key is valid but lacks the scope this endpoint needs (`required_scope`). */
export class InsufficientScope extends Schema.TaggedError<InsufficientScope>()("InsufficientScope", {
  message: Schema.String,
  required_scope: Schema.String
}, HttpApiSchema.annotations({ status: 403, description: "The API key lacks the scope this endpoint needs" })) {}

/**
 * 429: this key used up its requests of this route class (seed 002: 30/min create, metadata and
 * agent availability; 10/min transfer and end). The `Retry-After` header carries `retry_after_seconds`.
 */
export class RateLimitExceeded extends Schema.TaggedError<RateLimitExceeded>()("RateLimitExceeded", {
  message: Schema.String,
  route_class: Schema.String,
  limit_per_minute: Schema.Number,
  retry_after_seconds: Schema.Number
}, HttpApiSchema.annotations({ status: 429, description: "Too many requests for this API key; see `Retry-After`" })) {}

/** 422: the number is on the do-not-call list (a `dnd` disposition or a `dnc_request` end put it there); nothing was written. */
export class DoNotCall extends Schema.TaggedError<DoNotCall>()("DoNotCall", {
  message: Schema.String,
  /** The refused number, E.164. */
  phone: Schema.String,
  /** The request field that named it: `phone`, `to` or `to_number`. */
  field: Schema.String
}, HttpApiSchema.annotations({ status: 422, description: "The number is on the do-not-call list" })) {}

/** 422: this `Idempotency-Key` was used before for a different request (method, path or body). */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  message: Schema.String,
  idempotency_key: Schema.String
}, HttpApiSchema.annotations({ status: 422, description: "The Idempotency-Key was used for a different request" })) {}

/** 409: a request with this `Idempotency-Key` is still running (after waiting up to 10 s for it); retry later. */
export class IdempotentRequestInProgress extends Schema.TaggedError<IdempotentRequestInProgress>()("IdempotentRequestInProgress", {
  message: Schema.String,
  idempotency_key: Schema.String
}, HttpApiSchema.annotations({ status: 409, description: "A request with this Idempotency-Key is still running" })) {}

/** 404: no agent queue with this name is configured (`LEDGER_AGENT_QUEUES`); `queues` lists those that are. */
export class AgentQueueNotFound extends Schema.TaggedError<AgentQueueNotFound>()("AgentQueueNotFound", {
  message: Schema.String,
  target: Schema.String,
  queues: Schema.Array(Schema.String)
}, HttpApiSchema.annotations({ status: 404, description: "No agent queue with this name" })) {}

/** 503 (seed 002): every agent of the target queue is busy; nothing was written. */
export class AgentUnavailable extends Schema.TaggedError<AgentUnavailable>()("AgentUnavailable", {
  message: Schema.String,
  target: Schema.String,
  queue_depth: Schema.Int
}, HttpApiSchema.annotations({ status: 503, description: "No agent is available in the target queue" })) {}

/** 502: the telephony provider refused or failed a transfer or hang-up; nothing was written. */
export class TelephonyFailed extends Schema.TaggedError<TelephonyFailed>()("TelephonyFailed", {
  message: Schema.String,
  call_id: Schema.String,
  action: Schema.String
}, HttpApiSchema.annotations({ status: 502, description: "The telephony provider failed the action" })) {}

/** 404: no dial batch with this id. */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>()("BatchNotFound", {
  message: Schema.String,
  batch_id: Schema.String
}, HttpApiSchema.annotations({ status: 404, description: "No batch with this id" })) {}

/** 403: the recording URL's `token` does not sign this call and `expires`, or it has expired (seed 001: 1 hour). */
export class InvalidRecordingToken extends Schema.TaggedError<InvalidRecordingToken>()("InvalidRecordingToken", {
  message: Schema.String,
  call_id: Schema.String
}, HttpApiSchema.annotations({ status: 403, description: "The signed recording URL is wrong or expired" })) {}

/**
 * 404 (seed 002): the call has no recording, or the contact opted out (the number is on the
 * do-not-call list), or its reference is not a URL. `reason`: `none`, `opted_out`, `not_addressable`.
 */
export class RecordingNotFound extends Schema.TaggedError<RecordingNotFound>()("RecordingNotFound", {
  message: Schema.String,
  call_id: Schema.String,
  reason: Schema.Literal("none", "opted_out", "not_addressable")
}, HttpApiSchema.annotations({ status: 404, description: "No recording to serve" })) {}

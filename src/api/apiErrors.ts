/**
 * Errors the HTTP API answers with. Every error body is JSON with `_tag` and `message`; a 400 also
 * names the field (`field`, or `issues[].path` for schema violations from HttpApi's decoder).
 */
import { HttpApiSchema } from "@effect/platform"
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

/** Errors of the webhook API, with the HTTP status the Calls API answers them with. */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"

/** A field of an endpoint request is invalid (400). `field` names it: `url`, `secret`, `eventTypes`, `description`. */
export class WebhookEndpointInvalid extends Schema.TaggedError<WebhookEndpointInvalid>()(
  "WebhookEndpointInvalid",
  { field: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** No webhook endpoint with this id (404). */
export class WebhookEndpointNotFound extends Schema.TaggedError<WebhookEndpointNotFound>()(
  "WebhookEndpointNotFound",
  { id: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** No webhook delivery with this id (404). */
export class WebhookDeliveryNotFound extends Schema.TaggedError<WebhookDeliveryNotFound>()(
  "WebhookDeliveryNotFound",
  { id: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** The delivery's endpoint is disabled, so it cannot be sent again (409). */
export class WebhookEndpointDisabled extends Schema.TaggedError<WebhookEndpointDisabled>()(
  "WebhookEndpointDisabled",
  { id: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

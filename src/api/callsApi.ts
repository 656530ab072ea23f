/**
 * The HTTP API definition (Effect `HttpApi`): the Calls API of the seeds, the agent pipeline's
 * event reports, Twilio's status callback and webhook endpoint registration. The OpenAPI document
 * is generated from this definition (`/openapi.json`).
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import {
  CallConflict, CallNotFoundError, DeliveryNotFound, EndpointDisabled, EndpointNotFound, InvalidRequest, InvalidTwilioSignature
} from "./apiErrors.js"
import { CallEventReport, CallStatsQuery, CreateCallBody, CreateEndpointBody, ListCallsQuery } from "./callRequests.js"
import {
  CallPage, CallResponse, CallStatsResponse, DeliveryDetailResponse, DeliveryResponse, EndpointResponse, EventReportResult, LiveCallsResponse,
  TranscriptResponse, TwilioCallbackResult
} from "./callResponses.js"

const callId = HttpApiSchema.param("id", Schema.String)
const endpointId = HttpApiSchema.param("id", Schema.String)
const deliveryId = HttpApiSchema.param("id", Schema.String)

/** `Idempotency-Key`: a retried request with the same key appends nothing new. */
const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)))
})

export const CallsGroup = HttpApiGroup.make("calls")
  .add(
    HttpApiEndpoint.get("listCalls", "/v1/calls")
      .setUrlParams(ListCallsQuery)
      .addSuccess(CallPage)
      .addError(InvalidRequest)
  )
  .add(
    HttpApiEndpoint.get("callStats", "/v1/calls/stats")
      .setUrlParams(CallStatsQuery)
      .addSuccess(CallStatsResponse)
      .addError(InvalidRequest)
  )
  .add(HttpApiEndpoint.get("liveCalls", "/v1/calls/live").addSuccess(LiveCallsResponse))
  .add(
    HttpApiEndpoint.get("getCall")`/v1/calls/${callId}`
      .addSuccess(CallResponse)
      .addError(CallNotFoundError)
  )
  .add(
    HttpApiEndpoint.get("getTranscript")`/v1/calls/${callId}/transcript`
      .addSuccess(TranscriptResponse)
      .addError(CallNotFoundError)
  )
  .add(
    HttpApiEndpoint.post("createCall", "/v1/calls")
      .setPayload(CreateCallBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(CallResponse, { status: 201 })
      .addError(CallConflict)
      .addError(InvalidRequest)
  )
  .add(
    HttpApiEndpoint.post("reportEvent")`/v1/calls/${callId}/events`
      .setPayload(CallEventReport)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(EventReportResult)
      .addError(CallNotFoundError)
      .addError(CallConflict)
      .addError(InvalidRequest)
  )

export const TelephonyGroup = HttpApiGroup.make("telephony")
  .add(
    HttpApiEndpoint.post("twilioStatus", "/v1/telephony/twilio/status")
      .setUrlParams(Schema.Struct({ call_id: Schema.optional(Schema.String) }))
      .setHeaders(Schema.Struct({ "x-twilio-signature": Schema.optional(Schema.String) }))
      .setPayload(Schema.Record({ key: Schema.String, value: Schema.String }).pipe(HttpApiSchema.withEncoding({ kind: "UrlParams" })))
      .addSuccess(TwilioCallbackResult)
      .addError(InvalidTwilioSignature)
      .addError(InvalidRequest)
      .addError(CallNotFoundError)
  )

export const WebhooksGroup = HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("createEndpoint", "/v1/webhooks/endpoints")
      .setPayload(CreateEndpointBody)
      .addSuccess(EndpointResponse, { status: 201 })
      .addError(InvalidRequest)
  )
  .add(HttpApiEndpoint.get("listEndpoints", "/v1/webhooks/endpoints").addSuccess(Schema.Struct({ data: Schema.Array(EndpointResponse) })))
  .add(
    HttpApiEndpoint.get("getEndpoint")`/v1/webhooks/endpoints/${endpointId}`
      .addSuccess(EndpointResponse)
      .addError(EndpointNotFound)
  )
  .add(
    HttpApiEndpoint.del("deleteEndpoint")`/v1/webhooks/endpoints/${endpointId}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(EndpointNotFound)
  )
  .add(
    HttpApiEndpoint.get("listDeliveries")`/v1/webhooks/endpoints/${endpointId}/deliveries`
      .setUrlParams(Schema.Struct({
        status: Schema.optional(Schema.Literal("pending", "delivered", "failed", "canceled")),
        call_id: Schema.optional(Schema.String),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200))),
        offset: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()))
      }).pipe(Schema.annotations({ parseOptions: { onExcessProperty: "error" } })))
      .addSuccess(Schema.Struct({ data: Schema.Array(DeliveryResponse) }))
      .addError(EndpointNotFound)
  )
  .add(
    HttpApiEndpoint.get("getDelivery")`/v1/webhooks/deliveries/${deliveryId}`
      .addSuccess(DeliveryDetailResponse)
      .addError(DeliveryNotFound)
  )
  .add(
    HttpApiEndpoint.post("retryDelivery")`/v1/webhooks/deliveries/${deliveryId}/retry`
      .addSuccess(DeliveryDetailResponse, { status: 202 })
      .addError(DeliveryNotFound)
      .addError(EndpointDisabled)
  )

export const HealthGroup = HttpApiGroup.make("health")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Schema.Struct({ status: Schema.Literal("ok"), position: Schema.NullOr(Schema.String) })))

/** The whole API. */
export class CallLedgerApi extends HttpApi.make("call-ledger")
  .add(CallsGroup)
  .add(TelephonyGroup)
  .add(WebhooksGroup)
  .add(HealthGroup) {}

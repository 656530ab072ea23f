/**
 * The HTTP API definition (Effect `HttpApi`): the Calls API of the seeds, the agent pipeline's
 * event reports, Twilio's status callback and webhook endpoint registration. The OpenAPI document
 * is generated from this definition (`/openapi.json`).
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import {
  CallConflict, CallNotFoundError, DeliveryNotFound, EndpointDisabled, EndpointNotFound, InvalidRequest, InvalidTwilioSignature
} from "./apiErrors.js"
import {
  AgentQueueNotFound, AgentUnavailable, BatchNotFound, DoNotCall, IdempotencyKeyReused, IdempotentRequestInProgress,
  InvalidRecordingToken, RecordingNotFound, TelephonyFailed
} from "./apiErrors.js"
import { ApiKeyAuth } from "./apiKeyAuth.js"
import { RequiredScope } from "./apiScopes.js"
import { documentEndpointAccess, endpointAccess } from "./endpointAccess.js"
import { RateLimitClass } from "./rateLimits.js"
import { CallEventReport, CallEventsQuery, CallStatsQuery, CreateCallBody, CreateEndpointBody, ListCallsQuery } from "./callRequests.js"
import {
  AgentAvailabilityQuery, CreateBatchBody, EndCallBody, MergeMetadataBody, RecordingQuery, SearchCallsBody, TransferCallBody
} from "./callRequests.js"
import {
  CallPage, CallResponse, CallStatsResponse, DeliveryDetailResponse, DeliveryResponse, EndpointResponse, EventReportResult, LiveCallsResponse,
  TranscriptResponse, TwilioCallbackResult
} from "./callResponses.js"
import {
  AgentAvailabilityResponse, BatchAcceptedResponse, BatchStatusResponse, CallEventsResponse, CallSearchResponse
} from "./callResponses.js"

const callId = HttpApiSchema.param("id", Schema.String)
const endpointId = HttpApiSchema.param("id", Schema.String)
const deliveryId = HttpApiSchema.param("id", Schema.String)
const batchId = HttpApiSchema.param("id", Schema.String)

/** `Idempotency-Key`: a retried request with the same key appends nothing new. */
const IdempotencyHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)))
})

// Access: endpoints of a group with ApiKeyAuth need the group's RequiredScope unless they annotate their own.
export const CallsGroup = HttpApiGroup.make("calls")
  .middleware(ApiKeyAuth)
  .annotate(RequiredScope, "voice:calls:write")
  .add(
    HttpApiEndpoint.get("listCalls", "/v1/calls")
      .setUrlParams(ListCallsQuery)
      .addSuccess(CallPage)
      .addError(InvalidRequest)
      .annotate(RequiredScope, "voice:calls:read")
  )
  .add(
    HttpApiEndpoint.get("callStats", "/v1/calls/stats")
      .setUrlParams(CallStatsQuery)
      .addSuccess(CallStatsResponse)
      .addError(InvalidRequest)
      .annotate(RequiredScope, "voice:calls:read")
  )
  .add(HttpApiEndpoint.get("liveCalls", "/v1/calls/live").addSuccess(LiveCallsResponse).annotate(RequiredScope, "voice:calls:read"))
  .add(
    HttpApiEndpoint.get("getCall")`/v1/calls/${callId}`
      .addSuccess(CallResponse)
      .addError(CallNotFoundError)
      .annotate(RequiredScope, "voice:calls:read")
  )
  .add(
    HttpApiEndpoint.get("getTranscript")`/v1/calls/${callId}/transcript`
      .addSuccess(TranscriptResponse)
      .addError(CallNotFoundError)
      .annotate(RequiredScope, "voice:calls:read")
  )
  .add(
    HttpApiEndpoint.post("createCall", "/v1/calls")
      .setPayload(CreateCallBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(CallResponse, { status: 201 })
      .addError(CallConflict)
      .addError(InvalidRequest)
      .addError(DoNotCall)
      .addError(IdempotencyKeyReused)
      .addError(IdempotentRequestInProgress)
      .annotate(RateLimitClass, "create")
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
  // Issue 5 items 1-6: history, batch fetch, batches, live control. Docstrings in the handlers' modules.
  .add(
    HttpApiEndpoint.get("getCallEvents")`/v1/calls/${callId}/events`
      .setUrlParams(CallEventsQuery)
      .addSuccess(CallEventsResponse)
      .addError(InvalidRequest)
      .addError(CallNotFoundError)
      .annotate(RequiredScope, "voice:calls:read")
      .annotate(OpenApi.Description, "The call's event history from the log (type, revision, occurred and recorded times, data), for audit; a page of up to `limit` events (default 100) from `from_revision`, the next page from `next_revision`.")
  )
  .add(
    HttpApiEndpoint.post("searchCalls", "/v1/calls/search")
      .setPayload(SearchCallsBody)
      .addSuccess(CallSearchResponse)
      .addError(InvalidRequest)
      .annotate(RequiredScope, "voice:calls:read")
      .annotate(OpenApi.Description, "Seed 003 batch fetch: up to 100 call ids; the calls found and the ids not found.")
  )
  .add(
    HttpApiEndpoint.post("createBatch", "/v1/calls/batch")
      .setPayload(CreateBatchBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(BatchAcceptedResponse, { status: 202 })
      .addError(InvalidRequest)
      .addError(IdempotencyKeyReused)
      .addError(IdempotentRequestInProgress)
      .annotate(RateLimitClass, "create")
      .annotate(OpenApi.Description, "Seed 004 batch: the numbers are dialed in order at the dialing pace (default 1 call per second).")
  )
  .add(
    HttpApiEndpoint.get("getBatch")`/v1/calls/batch/${batchId}`
      .addSuccess(BatchStatusResponse)
      .addError(BatchNotFound)
      .annotate(RequiredScope, "voice:calls:read")
      .annotate(OpenApi.Description, "Seed 004 batch status: queued, initiated and failed counts, and each number.")
  )
  .add(
    HttpApiEndpoint.get("agentAvailability", "/v1/calls/agent-availability")
      .setUrlParams(AgentAvailabilityQuery)
      .addSuccess(AgentAvailabilityResponse)
      .addError(InvalidRequest)
      .addError(AgentQueueNotFound)
      .annotate(RequiredScope, "voice:calls:read")
      .annotate(RateLimitClass, "agentAvailability")
      .annotate(OpenApi.Description, "Seed 002: whether the agent queue has an agent free, before choosing a warm transfer or an async handoff.")
  )
  .add(
    HttpApiEndpoint.post("mergeMetadata")`/v1/calls/${callId}/metadata`
      .setPayload(MergeMetadataBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(EventReportResult)
      .addError(CallNotFoundError)
      .addError(InvalidRequest)
      .addError(IdempotencyKeyReused)
      .addError(IdempotentRequestInProgress)
      .annotate(RateLimitClass, "metadata")
      .annotate(OpenApi.Description, "Seed 002 workflow action: structured results merged into the call's key_details.")
  )
  .add(
    HttpApiEndpoint.post("transferCall")`/v1/calls/${callId}/transfer`
      .setPayload(TransferCallBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(EventReportResult)
      .addError(CallNotFoundError)
      .addError(CallConflict)
      .addError(InvalidRequest)
      .addError(AgentUnavailable)
      .addError(TelephonyFailed)
      .addError(IdempotencyKeyReused)
      .addError(IdempotentRequestInProgress)
      .annotate(RateLimitClass, "transfer")
      .annotate(OpenApi.Description, "Seed 002 workflow action: bridges a live call to a human agent queue. 409 when the call is not active, 503 when no agent is available.")
  )
  .add(
    HttpApiEndpoint.post("endCall")`/v1/calls/${callId}/end`
      .setPayload(EndCallBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(EventReportResult)
      .addError(CallNotFoundError)
      .addError(CallConflict)
      .addError(InvalidRequest)
      .addError(TelephonyFailed)
      .addError(IdempotencyKeyReused)
      .addError(IdempotentRequestInProgress)
      .annotate(RateLimitClass, "end")
      .annotate(OpenApi.Description, "Seed 002 workflow action: terminates a call; dnc_request puts the number on the do-not-call list.")
  )

/** Signed recording URLs (seed 001): the URL's token is the credential, so no API key. */
export const RecordingsGroup = HttpApiGroup.make("recordings")
  .add(
    HttpApiEndpoint.get("getRecording")`/v1/calls/${callId}/recording`
      .setUrlParams(RecordingQuery)
      .addSuccess(HttpApiSchema.Empty(302))
      .addError(InvalidRecordingToken)
      .addError(CallNotFoundError)
      .addError(RecordingNotFound)
      .annotate(OpenApi.Description, "Redirects (302) to the call's recording. Authenticated by the signed URL's `token` and `expires` (from `recording_url`, valid 1 hour), not by an API key; 404 when there is no recording or the contact opted out.")
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
      .annotate(OpenApi.Description, "Twilio's StatusCallback. Authenticated by `X-Twilio-Signature` (over `LEDGER_PUBLIC_URL`), not by an API key.")
  )

export const WebhooksGroup = HttpApiGroup.make("webhooks")
  .middleware(ApiKeyAuth)
  .annotate(RequiredScope, "webhooks:write")
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

const apiGroups = HttpApi.make("call-ledger")
  .add(CallsGroup)
  .add(TelephonyGroup)
  .add(RecordingsGroup)
  .add(WebhooksGroup)
  .add(HealthGroup)

/** The whole API. */
export class CallLedgerApi extends apiGroups
  .annotateContext(OpenApi.annotations({
    title: "call-ledger",
    version: "0.1.0",
    description: "The Calls API of the call ledger: record, query and control voice-AI calls, and subscribe to signed `call.completed` webhooks. " +
      "Send `Authorization: Bearer clk_...` (an API key from `call-ledger keys create`) holding the scope each operation names; " +
      "a service started without `LEDGER_REQUIRE_API_KEY=true` is in development mode and does not check keys. " +
      "Errors are JSON with `_tag` and `message`, and a field naming what was wrong where one applies.",
    transform: documentEndpointAccess(() => endpointAccess(apiGroups))
  })) {}

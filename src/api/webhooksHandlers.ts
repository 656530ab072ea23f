/** Handlers of the `webhooks` group: endpoint registration and delivery status. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import type { WebhookEndpoint } from "../webhooks/webhookEndpoints.js"
import {
  createWebhookEndpoint, disableWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints
} from "../webhooks/webhookEndpoints.js"
import type { WebhookDelivery, WebhookDeliveryDetail } from "../webhooks/webhookDeliveries.js"
import { getWebhookDelivery, listWebhookDeliveries, retryWebhookDelivery } from "../webhooks/webhookDeliveries.js"
import { DeliveryNotFound, EndpointDisabled, EndpointNotFound, InvalidRequest } from "./apiErrors.js"
import { CallLedgerApi } from "./callsApi.js"

const fieldNames: Record<string, string> = { eventTypes: "event_types" }

const presentEndpoint = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  secret: e.secret,
  event_types: e.eventTypes,
  description: e.description,
  enabled: e.enabled,
  created_at: e.createdAt
})

const presentDelivery = (d: WebhookDelivery) => ({
  id: d.id,
  endpoint_id: d.endpointId,
  event_type: d.eventType,
  call_id: d.callId,
  status: d.status,
  attempt_count: d.attemptCount,
  next_attempt_at: d.nextAttemptAt,
  created_at: d.createdAt,
  last_attempt_at: d.lastAttemptAt,
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  delivered_at: d.deliveredAt,
  payload: d.payload
})

const presentDeliveryDetail = (d: WebhookDeliveryDetail) => ({
  ...presentDelivery(d),
  attempts: d.attempts.map((a) => ({
    attempt: a.attempt,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    error: a.error,
    response_snippet: a.responseSnippet
  }))
})

const notFound = (id: string) => new EndpointNotFound({ message: `webhook endpoint ${id} not found`, endpoint_id: id })

export const WebhooksHandlers = HttpApiBuilder.group(CallLedgerApi, "webhooks", (handlers) =>
  handlers
    .handle("createEndpoint", ({ payload }) =>
      createWebhookEndpoint({
        url: payload.url,
        eventTypes: payload.event_types,
        description: payload.description,
        secret: payload.secret
      }).pipe(
        Effect.map(presentEndpoint),
        Effect.mapError((e) => new InvalidRequest({ message: e.message, field: fieldNames[e.field] ?? e.field }))
      ))
    .handle("listEndpoints", () => listWebhookEndpoints().pipe(Effect.map((all) => ({ data: all.map(presentEndpoint) }))))
    .handle("getEndpoint", ({ path }) =>
      getWebhookEndpoint(path.id).pipe(Effect.map(presentEndpoint), Effect.mapError(() => notFound(path.id))))
    .handle("deleteEndpoint", ({ path }) =>
      disableWebhookEndpoint(path.id).pipe(Effect.asVoid, Effect.mapError(() => notFound(path.id))))
    .handle("listDeliveries", ({ path, urlParams }) =>
      getWebhookEndpoint(path.id).pipe(
        Effect.mapError(() => notFound(path.id)),
        Effect.zipRight(listWebhookDeliveries({
          endpointId: path.id,
          status: urlParams.status,
          callId: urlParams.call_id,
          limit: urlParams.limit,
          offset: urlParams.offset
        })),
        Effect.map((all) => ({ data: all.map(presentDelivery) }))
      ))
    .handle("getDelivery", ({ path }) =>
      getWebhookDelivery(path.id).pipe(
        Effect.map(presentDeliveryDetail),
        Effect.mapError(() => new DeliveryNotFound({ message: `webhook delivery ${path.id} not found`, delivery_id: path.id }))
      ))
    .handle("retryDelivery", ({ path }) =>
      retryWebhookDelivery(path.id).pipe(
        Effect.map(presentDeliveryDetail),
        Effect.mapError((e) =>
          e._tag === "WebhookEndpointDisabled"
            ? new EndpointDisabled({ message: `webhook endpoint ${e.id} is disabled`, endpoint_id: e.id })
            : new DeliveryNotFound({ message: `webhook delivery ${path.id} not found`, delivery_id: path.id })
        )
      ))
)

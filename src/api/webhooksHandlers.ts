/** Handlers of the `webhooks` group: endpoint registration and delivery status. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import type { WebhookEndpoint } from "../webhooks/webhookEndpoints.js"
import {
  createWebhookEndpoint, disableWebhookEndpoint, getWebhookEndpoint, listWebhookEndpoints
} from "../webhooks/webhookEndpoints.js"
import { EndpointNotFound, InvalidRequest } from "./apiErrors.js"
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
    .handle("listDeliveries", ({ path }) =>
      getWebhookEndpoint(path.id).pipe(
        Effect.mapError(() => notFound(path.id)),
        Effect.as({ data: [] })
      ))
)

/**
 * Webhook endpoints as events in the log, so every instance on one store knows every endpoint:
 * stream `webhook-endpoint-<endpointId>`, revisions 0.., first event `WebhookEndpointRegistered`.
 * `data` is plain JSON, instants ISO-8601 UTC. Secrets travel in the events as they are (see
 * docs/eventstoredb.md, "Webhook endpoints in the log").
 *
 * `foldWebhookEndpoint` is the endpoint's state for the write path; the `webhook_endpoints` table
 * is the same state as a projection (`webhookEndpointsProjection`).
 */
import type { RecordedEvent } from "../store/eventStore.js"
import type { WebhookEventType } from "./webhookEventTypes.js"

/** Prefix of every endpoint stream, for `$all` filters. */
export const webhookEndpointStreamPrefix = "webhook-endpoint-"

/** The stream of one endpoint. */
export const webhookEndpointStreamId = (endpointId: string): string => `${webhookEndpointStreamPrefix}${endpointId}`

/** An endpoint was created, enabled, receiving events recorded from `createdAt` on. */
export interface WebhookEndpointRegisteredData {
  readonly endpointId: string
  readonly url: string
  /** `whsec_...` */
  readonly secret: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly description: string | null
  readonly createdAt: string
}

/** An endpoint was disabled: `deleted` by the API, or `gone` (a receiver answered 410). Its pending deliveries are canceled. */
export interface WebhookEndpointDisabledData {
  readonly endpointId: string
  readonly reason: string
  readonly at: string
}

/** A new signing secret; the previous one keeps signing until `previousSecretUntil` (null: not at all). */
export interface WebhookEndpointSecretRotatedData {
  readonly endpointId: string
  readonly secret: string
  readonly previousSecret: string | null
  readonly previousSecretUntil: string | null
  readonly at: string
}

export type WebhookEndpointEvent =
  | { readonly type: "WebhookEndpointRegistered"; readonly data: WebhookEndpointRegisteredData }
  | { readonly type: "WebhookEndpointDisabled"; readonly data: WebhookEndpointDisabledData }
  | { readonly type: "WebhookEndpointSecretRotated"; readonly data: WebhookEndpointSecretRotatedData }

/** Every endpoint event type. */
export const webhookEndpointEventTypes: ReadonlySet<string> = new Set([
  "WebhookEndpointRegistered", "WebhookEndpointDisabled", "WebhookEndpointSecretRotated"
])

/** An endpoint as its stream leaves it. */
export interface WebhookEndpointState {
  readonly id: string
  readonly url: string
  readonly secret: string
  readonly previousSecret: string | null
  readonly previousSecretUntil: string | null
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly description: string | null
  readonly enabled: boolean
  readonly createdAt: string
  readonly disabledAt: string | null
  readonly disabledReason: string | null
}

/** One event applied to the state (null before `WebhookEndpointRegistered`). */
export const evolveWebhookEndpoint = (
  state: WebhookEndpointState | null,
  event: WebhookEndpointEvent
): WebhookEndpointState | null => {
  switch (event.type) {
    case "WebhookEndpointRegistered": {
      const d = event.data
      return {
        id: d.endpointId, url: d.url, secret: d.secret, previousSecret: null, previousSecretUntil: null,
        eventTypes: d.eventTypes, description: d.description, enabled: true, createdAt: d.createdAt,
        disabledAt: null, disabledReason: null
      }
    }
    case "WebhookEndpointDisabled":
      return state === null || !state.enabled
        ? state
        : { ...state, enabled: false, disabledAt: event.data.at, disabledReason: event.data.reason }
    case "WebhookEndpointSecretRotated":
      return state === null
        ? state
        : { ...state, secret: event.data.secret, previousSecret: event.data.previousSecret, previousSecretUntil: event.data.previousSecretUntil }
  }
}

/** The recorded events of one endpoint stream, as endpoint events (others are skipped). */
export const asWebhookEndpointEvent = (event: RecordedEvent): WebhookEndpointEvent | null =>
  webhookEndpointEventTypes.has(event.type) ? ({ type: event.type, data: event.data } as WebhookEndpointEvent) : null

/** The endpoint's state after its stream's events; null when it was never registered. */
export const foldWebhookEndpoint = (events: ReadonlyArray<RecordedEvent>): WebhookEndpointState | null => {
  let state: WebhookEndpointState | null = null
  for (const recorded of events) {
    const event = asWebhookEndpointEvent(recorded)
    if (event !== null) state = evolveWebhookEndpoint(state, event)
  }
  return state
}

/**
 * The webhook event types subscribers can choose, and which call event raises each.
 * `call.completed` is the one seed 001 names ("register a call.completed webhook to receive the
 * result"); the others follow the same `call.<past tense>` form.
 */
import type { RecordedEvent } from "../store/eventStore.js"

/** Every webhook event type, in the order the API documents them. */
export const webhookEventTypes = [
  "call.completed",
  "call.answered",
  "call.transferred",
  "call.dispositioned",
  "call.transcribed"
] as const

/** A webhook event type: `call.completed`, `call.answered`, `call.transferred`, `call.dispositioned`, `call.transcribed`. */
export type WebhookEventType = (typeof webhookEventTypes)[number]

/** Event types an endpoint gets when it names none. */
export const defaultWebhookEventTypes: ReadonlyArray<WebhookEventType> = ["call.completed"]

/** True when `s` is a known webhook event type. */
export const isWebhookEventType = (s: string): s is WebhookEventType =>
  (webhookEventTypes as ReadonlyArray<string>).includes(s)

/** Call event types that can raise a webhook (the outbox projection reads only these). */
export const webhookSourceEventTypes: ReadonlySet<string> = new Set([
  "CallEnded", "CallAnswered", "CallTransferred", "CallDispositioned", "CallTranscribed"
])

/**
 * The webhook type a recorded call event raises, or null: `CallEnded` → `call.completed`,
 * `CallAnswered` → `call.answered`, `CallTransferred` → `call.transferred`,
 * `CallDispositioned` → `call.dispositioned`, and a final `CallTranscribed` → `call.transcribed`
 * (partial transcript batches raise nothing).
 */
export const webhookTypeOf = (event: Pick<RecordedEvent, "type" | "data">): WebhookEventType | null => {
  switch (event.type) {
    case "CallEnded":
      return "call.completed"
    case "CallAnswered":
      return "call.answered"
    case "CallTransferred":
      return "call.transferred"
    case "CallDispositioned":
      return "call.dispositioned"
    case "CallTranscribed":
      return (event.data as { readonly final?: unknown } | null)?.final === true ? "call.transcribed" : null
    default:
      return null
  }
}

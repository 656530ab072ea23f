/**
 * Standard Webhooks signing (spec "Signature scheme": HMAC-SHA256 over `<id>.<timestamp>.<body>`,
 * header `webhook-signature: v1,<base64>`; several space-separated signatures during key rotation).
 */
import { Webhook } from "standardwebhooks"

/** The three Standard Webhooks headers. */
export interface WebhookSignatureHeaders {
  readonly "webhook-id": string
  /** Unix seconds of the attempt. */
  readonly "webhook-timestamp": string
  readonly "webhook-signature": string
}

/**
 * Signs one attempt with each secret (`whsec_...`; the current one first, then a rotated-out one
 * still in its grace period). `at` is the attempt time in ms since the epoch.
 */
export const signWebhook = (
  msgId: string,
  atMillis: number,
  body: string,
  secrets: ReadonlyArray<string>
): WebhookSignatureHeaders => {
  const at = new Date(atMillis)
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(atMillis / 1000)),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(msgId, at, body)).join(" ")
  }
}

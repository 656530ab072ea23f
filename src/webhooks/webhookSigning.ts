/**
 * Standard Webhooks signing (spec "Signature scheme": HMAC-SHA256 over `<id>.<timestamp>.<body>`,
 * header `webhook-signature: v1,<base64>`; several space-separated signatures during key rotation).
 */
import { createHmac } from "node:crypto"

/** The three Standard Webhooks headers. */
export interface WebhookSignatureHeaders {
  readonly "webhook-id": string
  /** Unix seconds of the attempt. */
  readonly "webhook-timestamp": string
  readonly "webhook-signature": string
}

const secretPrefix = "whsec_"
const keys = new Map<string, Buffer>()

/** The HMAC key of a `whsec_` secret (as `standardwebhooks` reads it: base64 after the prefix). */
const keyOf = (secret: string): Buffer => {
  let key = keys.get(secret)
  if (key === undefined) {
    key = Buffer.from(secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret, "base64")
    if (keys.size >= 1024) keys.clear()
    keys.set(secret, key)
  }
  return key
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
  const timestamp = String(Math.floor(atMillis / 1000))
  // What `standardwebhooks`' `Webhook.sign` computes, with node's native HMAC instead of its JS SHA-256.
  const signed = `${msgId}.${timestamp}.${body}`
  return {
    "webhook-id": msgId,
    "webhook-timestamp": timestamp,
    "webhook-signature": secrets.map((secret) => `v1,${createHmac("sha256", keyOf(secret)).update(signed, "utf8").digest("base64")}`).join(" ")
  }
}

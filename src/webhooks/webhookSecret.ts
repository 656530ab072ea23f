/**
 * Endpoint signing secrets in the Standard Webhooks form: `whsec_` and the base64 of the key,
 * 24 to 64 random bytes (Standard Webhooks spec, "Signature scheme: symmetric").
 */
import { randomBytes } from "node:crypto"

const prefix = "whsec_"
/** Key sizes the spec allows, in bytes. */
export const secretKeyBytes = { min: 24, max: 64 } as const

/** A fresh secret: `whsec_` + base64 of 24 random bytes. */
export const generateWebhookSecret = (): string => prefix + randomBytes(secretKeyBytes.min).toString("base64")

/** True when `secret` is `whsec_` + canonical base64 of 24 to 64 bytes. */
export const isValidWebhookSecret = (secret: string): boolean => {
  if (!secret.startsWith(prefix)) return false
  const encoded = secret.slice(prefix.length)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return false
  const key = Buffer.from(encoded, "base64")
  return key.length >= secretKeyBytes.min && key.length <= secretKeyBytes.max
}

/**
 * Signed recording URLs (seed 001: "A signed URL pointing to the call audio recording. Expires in
 * 1 hour"). The token is an HMAC-SHA256 of the call id and the expiry (unix seconds) under the
 * service's signing key; `GET /v1/calls/{id}/recording?expires=…&token=…` checks it.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** Lifetime of a signed recording URL, seconds (seed 001). */
export const recordingUrlTtlSeconds = 3600

const tokenFor = (signingKey: string, callId: string, expires: number): string =>
  createHmac("sha256", signingKey).update(`${callId}.${expires}`).digest("base64url")

/** The signed URL of a call's recording, valid until `nowMillis` + 1 hour. */
export const signRecordingUrl = (publicUrl: string, signingKey: string, callId: string, nowMillis: number): string => {
  const expires = Math.floor(nowMillis / 1000) + recordingUrlTtlSeconds
  return `${publicUrl}/v1/calls/${encodeURIComponent(callId)}/recording?expires=${expires}&token=${tokenFor(signingKey, callId, expires)}`
}

/** True when `token` signs `callId` and `expires` (unix seconds) and `expires` is not past. */
export const isValidRecordingToken = (
  signingKey: string,
  callId: string,
  expires: number,
  token: string,
  nowMillis: number
): boolean => {
  if (!Number.isInteger(expires) || expires * 1000 < nowMillis) return false
  const expected = Buffer.from(tokenFor(signingKey, callId, expires))
  const given = Buffer.from(token)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

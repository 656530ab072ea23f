/**
 * New call ids: `cal_` and a UUIDv7 without dashes (time-ordered, so the stream index and the
 * views' primary keys grow at the end). With an idempotency key the id is derived from the key, so
 * a retried `POST /v1/calls` names the same call.
 */
import { v5 as uuidv5, v7 as uuidv7 } from "uuid"

const idempotentCallNamespace = "0d9f3a4e-61c2-4b8e-9a57-3e2f1c0b7d65"

/** A fresh, time-ordered call id. */
export const newCallId = (): string => `cal_${uuidv7().replaceAll("-", "")}`

/** The call id for an `Idempotency-Key`. */
export const callIdForIdempotencyKey = (key: string): string => `cal_${uuidv5(key, idempotentCallNamespace).replaceAll("-", "")}`

/**
 * Twilio voice StatusCallback (form-encoded POST): parameters `CallSid`, `CallStatus`,
 * `SequenceNumber`, `CallDuration`, `AnsweredBy`, `Timestamp`, `From`, `To`, `Direction`
 * (Twilio docs, "Voice StatusCallback parameters"), checked against `X-Twilio-Signature` with the
 * `twilio` package's validator (HMAC-SHA1 of the full URL and the sorted parameters).
 */
import { validateRequest } from "twilio/lib/webhooks/webhooks.js"
import { v5 as uuidv5 } from "uuid"
import type { ReportTelephonyStatus, TelephonyStatus } from "../domain/callCommands.js"
import type { AnsweredBy } from "../domain/values.js"
import { eventIdNamespace } from "../store/callCommandHandler.js"
import { Schema } from "effect"
import { E164 } from "../domain/values.js"

const telephonyStatuses: ReadonlyArray<TelephonyStatus> = [
  "queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"
]

/** True when `signature` is Twilio's signature of `url` and `params` under `authToken`. */
export const isValidTwilioSignature = (
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string>
): boolean => signature !== undefined && signature.length > 0 && validateRequest(authToken, signature, url, params)

/** A call id for a call first heard of through Twilio: `cal_` and its CallSid (`CA` + 32 hex). */
export const callIdForCallSid = (callSid: string): string => `cal_${callSid}`

/** Folds Twilio `AnsweredBy` (human, machine_start, machine_end_beep, …, fax, unknown) to three values. */
export const answeredByFromTwilio = (value: string | undefined): AnsweredBy | null => {
  if (value === undefined || value === "") return null
  if (value === "human") return "human"
  if (value.startsWith("machine") || value === "fax") return "machine"
  return "unknown"
}

/** A field of the callback that is missing or malformed. */
export interface TwilioParamError {
  readonly field: string
  readonly message: string
}

const isE164 = Schema.is(E164)

/**
 * The `ReportTelephonyStatus` command for a callback's parameters. The command id is derived
 * from CallSid, CallStatus and SequenceNumber, so Twilio's own retries of a callback are idempotent.
 * `now` (ISO) stands in when `Timestamp` is absent.
 */
export const commandForTwilioCallback = (
  callId: string,
  params: Record<string, string>,
  now: string
): ReportTelephonyStatus | TwilioParamError => {
  const callSid = params["CallSid"]
  if (callSid === undefined || !/^CA[0-9a-fA-F]{32}$/.test(callSid)) {
    return { field: "CallSid", message: "CallSid is required: CA followed by 32 hex digits" }
  }
  const status = params["CallStatus"] as TelephonyStatus | undefined
  if (status === undefined || !telephonyStatuses.includes(status)) {
    return { field: "CallStatus", message: `CallStatus must be one of ${telephonyStatuses.join(", ")}` }
  }
  const sequence = params["SequenceNumber"]
  if (sequence !== undefined && !/^\d+$/.test(sequence)) {
    return { field: "SequenceNumber", message: "SequenceNumber must be a non-negative integer" }
  }
  const duration = params["CallDuration"]
  if (duration !== undefined && duration !== "" && !/^\d+$/.test(duration)) {
    return { field: "CallDuration", message: "CallDuration must be whole seconds" }
  }
  const timestamp = params["Timestamp"]
  if (timestamp !== undefined && Number.isNaN(Date.parse(timestamp))) {
    return { field: "Timestamp", message: "Timestamp must be an RFC 2822 date" }
  }
  const from = params["From"]
  const to = params["To"]
  const inbound = params["Direction"] === "inbound"
  if (inbound && (from === undefined || !isE164(from))) {
    return { field: "From", message: "From must be an E.164 number for an inbound call" }
  }
  const at = timestamp === undefined ? now : new Date(Date.parse(timestamp)).toISOString()
  const sequenceNumber = sequence === undefined ? null : Number(sequence)
  const commandId = uuidv5(`twilio:${callSid}:${status}:${sequence ?? ""}`, eventIdNamespace)
  return {
    type: "ReportTelephonyStatus",
    commandId,
    callId,
    at,
    callSid,
    status,
    sequenceNumber,
    durationSeconds: duration === undefined || duration === "" ? null : Number(duration),
    answeredBy: answeredByFromTwilio(params["AnsweredBy"]),
    errorReason: params["ErrorMessage"] ?? (params["ErrorCode"] === undefined ? null : `Twilio error ${params["ErrorCode"]}`),
    inbound: inbound
      ? {
        callType: "telephony_inbound",
        from: from!,
        to: to !== undefined && isE164(to) ? to : null,
        contact: { phone: from!, name: params["CallerName"] ?? null, id: null },
        campaignId: null,
        agentId: null,
        agentName: null,
        scriptId: null,
        language: null,
        metadata: {},
        provider: "twilio"
      }
      : null
  }
}

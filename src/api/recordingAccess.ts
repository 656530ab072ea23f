/**
 * `GET /v1/calls/{id}/recording?expires=&token=`: where a signed recording URL (seed 001, valid one
 * hour, `recordingUrls.ts`) leads. The token is the credential, so no API key is needed. Answers a
 * 302 to the provider's recording (the reference of the call's latest `CallRecordingAttached`); 403
 * when the token does not sign this call and expiry or has expired (checked first, so an outsider
 * learns nothing about the call); 404 when the call is unknown, has no recording, or the contact
 * opted out (the number is on the do-not-call list; seed 002), or the reference is not a URL.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect } from "effect"
import { InvalidRecordingToken, RecordingNotFound } from "./apiErrors.js"
import { CallLedger } from "./callLedger.js"
import { LedgerSettings } from "./ledgerConfig.js"
import { isValidRecordingToken } from "./recordingUrls.js"
import { callNotFound } from "./ruleErrors.js"

const isHttpUrl = (ref: string): boolean => {
  try {
    const url = new URL(ref)
    return url.protocol === "https:" || url.protocol === "http:"
  } catch {
    return false
  }
}

export const getRecording = Effect.fn("CallsApi.getRecording")(function*(
  callId: string,
  query: { readonly expires?: string | undefined; readonly token?: string | undefined }
) {
  const settings = yield* LedgerSettings
  const ledger = yield* CallLedger
  const expires = query.expires !== undefined && /^\d{1,12}$/.test(query.expires) ? Number(query.expires) : Number.NaN
  const valid = query.token !== undefined &&
    isValidRecordingToken(settings.signingKey, callId, expires, query.token, yield* Clock.currentTimeMillis)
  if (!valid) {
    return yield* Effect.fail(new InvalidRecordingToken({
      message: "the recording URL is not valid or has expired; get a fresh one from GET /v1/calls/{id}",
      call_id: callId
    }))
  }
  const view = yield* ledger.getCall(callId)
  if (view === null) return yield* Effect.fail(callNotFound(callId))
  const recording = yield* ledger.recording(callId)
  if (recording === null) {
    return yield* Effect.fail(new RecordingNotFound({ message: `call ${callId} has no recording`, call_id: callId, reason: "none" }))
  }
  if (yield* ledger.isOnDoNotCallList(view.contact.phone)) {
    return yield* Effect.fail(new RecordingNotFound({
      message: `the contact of call ${callId} opted out; its recording is not served`,
      call_id: callId,
      reason: "opted_out"
    }))
  }
  if (!isHttpUrl(recording.recordingRef)) {
    return yield* Effect.fail(new RecordingNotFound({
      message: `the recording of call ${callId} is stored by reference, not at a URL this service can redirect to`,
      call_id: callId,
      reason: "not_addressable"
    }))
  }
  return HttpServerResponse.redirect(recording.recordingRef, {
    status: 302,
    headers: { "cache-control": "no-store", "referrer-policy": "no-referrer" }
  })
})

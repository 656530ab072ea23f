/**
 * Twilio StatusCallback handler. The signature is checked over the public URL Twilio called
 * (`LEDGER_PUBLIC_URL` + path and query) and the form parameters; a wrong or missing signature is
 * a 403 and writes nothing. The call is named by the `call_id` query parameter of the callback URL
 * (set when the call was placed), else found by its CallSid, else (an inbound call) named from it.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Clock, Effect } from "effect"
import { InvalidRequest, InvalidTwilioSignature } from "./apiErrors.js"
import { CallLedger } from "./callLedger.js"
import { CallLedgerApi } from "./callsApi.js"
import { ruleToHttpError } from "./ruleErrors.js"
import { LedgerSettings } from "./ledgerConfig.js"
import { callIdForCallSid, commandForTwilioCallback, isValidTwilioSignature } from "./twilioStatusCallback.js"

export const TelephonyHandlers = HttpApiBuilder.group(CallLedgerApi, "telephony", (handlers) =>
  handlers.handle("twilioStatus", ({ payload, urlParams, headers }) =>
    Effect.gen(function*() {
      const settings = yield* LedgerSettings
      const ledger = yield* CallLedger
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = `${settings.publicUrl}${request.url}`
      if (!isValidTwilioSignature(settings.twilioAuthToken, headers["x-twilio-signature"], url, payload)) {
        return yield* Effect.fail(new InvalidTwilioSignature({ message: "X-Twilio-Signature does not match this request" }))
      }
      const callSid = payload["CallSid"] ?? ""
      const callId = urlParams.call_id ?? (yield* ledger.findCallIdBySid(callSid)) ?? callIdForCallSid(callSid)
      const now = new Date(yield* Clock.currentTimeMillis).toISOString()
      const command = commandForTwilioCallback(callId, payload, now)
      if ("field" in command) return yield* Effect.fail(new InvalidRequest(command))
      const result = yield* ledger.execute(command).pipe(
        Effect.mapError(ruleToHttpError),
        Effect.catchTag("CallConflict", (e) => Effect.die(e))
      )
      return { call_id: callId, appended: result.events.map((e) => e.type) }
    }))
)

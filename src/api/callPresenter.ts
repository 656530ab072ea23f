/** Turns a call view into the API's call record: `has_recording` becomes a signed `recording_url` (seed 001). */
import { Clock, Effect } from "effect"
import type { CallView } from "../projections/callViewSchema.js"
import { CallLedger } from "./callLedger.js"
import type { CallResponse } from "./callResponses.js"
import type { LedgerConfig } from "./ledgerConfig.js"
import { LedgerSettings } from "./ledgerConfig.js"
import { signRecordingUrl } from "./recordingUrls.js"
import { callNotFound } from "./ruleErrors.js"

/** The call record as the API returns it, with a recording URL valid one hour from `nowMillis`. */
export const presentCall = (view: CallView, config: Pick<LedgerConfig, "publicUrl" | "signingKey">, nowMillis: number): CallResponse => {
  const { has_recording, ...rest } = view
  return {
    ...rest,
    recording_url: has_recording ? signRecordingUrl(config.publicUrl, config.signingKey, view.id, nowMillis) : null
  }
}

/** The call record of `callId` as the API returns it now, or a 404 (`CallNotFound`). */
export const presentCallById = Effect.fn("CallsApi.present")(function*(callId: string) {
  const ledger = yield* CallLedger
  const settings = yield* LedgerSettings
  const view = yield* ledger.getCall(callId)
  if (view === null) return yield* Effect.fail(callNotFound(callId))
  return presentCall(view, settings, yield* Clock.currentTimeMillis)
})

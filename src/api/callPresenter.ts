/** Turns a call view into the API's call record: `has_recording` becomes a signed `recording_url` (seed 001). */
import type { CallView } from "../projections/callViewSchema.js"
import type { CallResponse } from "./callResponses.js"
import type { LedgerConfig } from "./ledgerConfig.js"
import { signRecordingUrl } from "./recordingUrls.js"

/** The call record as the API returns it, with a recording URL valid one hour from `nowMillis`. */
export const presentCall = (view: CallView, config: Pick<LedgerConfig, "publicUrl" | "signingKey">, nowMillis: number): CallResponse => {
  const { has_recording, ...rest } = view
  return {
    ...rest,
    recording_url: has_recording ? signRecordingUrl(config.publicUrl, config.signingKey, view.id, nowMillis) : null
  }
}

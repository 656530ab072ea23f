/** Turns a call view into the API's call record: `has_recording` becomes a signed `recording_url` (seed 001). */
import { Clock, Effect } from "effect"
import type { StoredCallView } from "../projections/callView.js"
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

const hasRecordingKey = '"has_recording":'

/** Index of `key` (quoted, with its colon) as a key of the outermost object of `json`, or -1. */
const topLevelKeyIndex = (json: string, key: string): number => {
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) {
      if (depth === 1 && json.startsWith(key, i)) return i
      inString = true
    } else if (c === 123 || c === 91) depth++
    else if (c === 125 || c === 93) depth--
  }
  return -1
}

/**
 * `presentCall` on a call view as the `calls` table stores it (JSON text), giving JSON text: the
 * top-level `has_recording` is replaced in place by `recording_url`, without parsing and writing
 * the call again (most of a list page's CPU, `npm run bench`). The other fields keep the stored
 * order, which is the view's; `presentCall` is the fallback for text it does not recognise.
 */
export const presentStoredCall = (
  stored: StoredCallView,
  config: Pick<LedgerConfig, "publicUrl" | "signingKey">,
  nowMillis: number
): string => {
  const at = topLevelKeyIndex(stored.doc, hasRecordingKey)
  const valueAt = at + hasRecordingKey.length
  const value = at < 0 ? null : stored.doc.startsWith("true", valueAt) ? "true" : stored.doc.startsWith("false", valueAt) ? "false" : null
  if (value === null) return JSON.stringify(presentCall(JSON.parse(stored.doc) as CallView, config, nowMillis))
  const url = value === "true" ? JSON.stringify(signRecordingUrl(config.publicUrl, config.signingKey, stored.id, nowMillis)) : "null"
  return `${stored.doc.slice(0, at)}"recording_url":${url}${stored.doc.slice(valueAt + value.length)}`
}

/** The call record of `callId` as the API returns it now, or a 404 (`CallNotFound`). */
export const presentCallById = Effect.fn("CallsApi.present")(function*(callId: string) {
  const ledger = yield* CallLedger
  const settings = yield* LedgerSettings
  const view = yield* ledger.getCall(callId)
  if (view === null) return yield* Effect.fail(callNotFound(callId))
  return presentCall(view, settings, yield* Clock.currentTimeMillis)
})

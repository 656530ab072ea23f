/** The write-side state of one call, folded from its events by `evolve`. */
import type { CallEvent } from "./callEvents.js"
import { addCommandId, noCommandIds } from "./commandIds.js"
import type { CommandIds } from "./commandIds.js"
import type { AnsweredBy, Direction } from "./values.js"

/** Where the call is in its lifecycle; `none` before `CallDialed`. */
export type Lifecycle = "none" | "queued" | "initiated" | "ringing" | "in_progress" | "ended"

export interface CallState {
  readonly lifecycle: Lifecycle
  readonly direction: Direction | null
  readonly callSid: string | null
  /** ISO-8601 instant of the dial (`CallDialed.at`); no later event of the call is recorded before it. */
  readonly startedAt: string | null
  /** Highest Twilio `SequenceNumber` applied, -1 when none. */
  readonly lastSequence: number
  readonly answeredAt: string | null
  readonly answeredBy: AnsweredBy | null
  readonly transferred: boolean
  readonly transcriptFinal: boolean
  /** Command ids already applied: a retried command appends nothing new (persistent, see `commandIds.ts`). */
  readonly commandIds: CommandIds
}

export const initialState: CallState = {
  lifecycle: "none",
  direction: null,
  callSid: null,
  startedAt: null,
  lastSequence: -1,
  answeredAt: null,
  answeredBy: null,
  transferred: false,
  transcriptFinal: false,
  commandIds: noCommandIds
}

const seen = (state: CallState, sequenceNumber: number | null): number =>
  sequenceNumber === null ? state.lastSequence : Math.max(state.lastSequence, sequenceNumber)

/**
 * Applies one recorded event. `commandId` is the id of the command that produced it
 * (event metadata), remembered so a retry of that command is a no-op.
 */
export const evolve = (state: CallState, event: CallEvent, commandId?: string): CallState => {
  // `addCommandId` answers the same version when the id is already there.
  const commandIds = commandId === undefined ? state.commandIds : addCommandId(state.commandIds, commandId)
  const next = commandIds === state.commandIds ? state : { ...state, commandIds }
  switch (event.type) {
    case "CallDialed":
      return {
        ...next,
        lifecycle: event.data.status,
        startedAt: event.data.at,
        direction: event.data.direction,
        callSid: event.data.callSid
      }
    case "CallInitiated":
      return {
        ...next,
        lifecycle: next.lifecycle === "queued" ? "initiated" : next.lifecycle,
        callSid: event.data.callSid ?? next.callSid,
        lastSequence: seen(next, event.data.sequenceNumber)
      }
    case "CallRinging":
      return {
        ...next,
        lifecycle: next.lifecycle === "queued" || next.lifecycle === "initiated" ? "ringing" : next.lifecycle,
        lastSequence: seen(next, event.data.sequenceNumber)
      }
    case "CallAnswered":
      return {
        ...next,
        lifecycle: "in_progress",
        answeredAt: event.data.at,
        answeredBy: event.data.answeredBy,
        lastSequence: seen(next, event.data.sequenceNumber)
      }
    case "CallTranscribed":
      return event.data.final ? { ...next, transcriptFinal: true } : next
    case "CallTransferred":
      return { ...next, transferred: true }
    case "CallEnded":
      return { ...next, lifecycle: "ended", lastSequence: seen(next, event.data.sequenceNumber) }
    case "CallDispositioned":
    case "CallRecordingAttached":
    case "CallMetadataMerged":
    case "CallMetricsRecorded":
      return next
  }
}

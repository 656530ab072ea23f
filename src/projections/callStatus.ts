/**
 * How an event moves a call's read-side status. Status only moves forward (queued, initiated,
 * ringing, in_progress, then an end status), as the decider's `evolve` moves the lifecycle; the
 * call view and the stats share this rule so they never disagree.
 */
import type { CallEvent } from "../domain/callEvents.js"
import type { CallStatus } from "../domain/values.js"

/** Statuses of a call that has not ended (seed 002 live calls). */
export const liveStatuses: ReadonlyArray<CallStatus> = ["queued", "initiated", "ringing", "in_progress"]

/** True for queued, initiated, ringing and in_progress. */
export const isLiveStatus = (status: CallStatus): boolean => liveStatuses.includes(status)

/** The status after `event`; events that say nothing about status leave it as is. */
export const advanceCallStatus = (status: CallStatus, event: CallEvent): CallStatus => {
  switch (event.type) {
    case "CallDialed":
      return event.data.status
    case "CallInitiated":
      return status === "queued" ? "initiated" : status
    case "CallRinging":
      return status === "queued" || status === "initiated" ? "ringing" : status
    case "CallAnswered":
      return isLiveStatus(status) ? "in_progress" : status
    case "CallEnded":
      return event.data.status
    default:
      return status
  }
}

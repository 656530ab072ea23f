/** The decider's rule violations as HTTP errors: 404 for an unknown call, 409 (`CallConflict`, with the `rule`) for the rest. */
import type { CallRuleViolation } from "../domain/callErrors.js"
import { CallConflict, CallNotFoundError } from "./apiErrors.js"

const ruleMessages: Record<CallRuleViolation["_tag"], string> = {
  CallNotFound: "no call with this id",
  CallAlreadyExists: "a call with this id exists already",
  CallAlreadyEnded: "the call has ended",
  CallNotActive: "the call is not active",
  CallNotAnswered: "the call was not answered",
  TranscriptAlreadyFinal: "the transcript is already final"
}

/** Maps a decider rule to its HTTP error: 404 for an unknown call, 409 for the rest. */
export const ruleToHttpError = (error: CallRuleViolation): CallNotFoundError | CallConflict =>
  error._tag === "CallNotFound"
    ? new CallNotFoundError({ message: `call ${error.callId} not found`, call_id: error.callId })
    : new CallConflict({
      message: `${ruleMessages[error._tag]}${error._tag === "CallNotActive" ? ` (${error.status})` : ""}: ${error.callId}`,
      call_id: error.callId,
      rule: error._tag
    })

/** A 404 for `callId`. */
export const callNotFound = (callId: string): CallNotFoundError =>
  new CallNotFoundError({ message: `call ${callId} not found`, call_id: callId })

/** Rule violations the call decider reports. The API maps NotFound to 404 and the rest to 409. */
import { Data } from "effect"

/** No call with this id has been recorded. */
export class CallNotFound extends Data.TaggedError("CallNotFound")<{ readonly callId: string }> {}

/** A call with this id exists already, recorded by another command. */
export class CallAlreadyExists extends Data.TaggedError("CallAlreadyExists")<{ readonly callId: string }> {}

/** The call has ended; it takes no new answer, transfer or end. */
export class CallAlreadyEnded extends Data.TaggedError("CallAlreadyEnded")<{ readonly callId: string }> {}

/** The command needs a live (answered, not ended, not yet transferred) call. Seed 002 transfer: 409. */
export class CallNotActive extends Data.TaggedError("CallNotActive")<{
  readonly callId: string
  readonly status: string
}> {}

/** A transcript needs a call that was answered. */
export class CallNotAnswered extends Data.TaggedError("CallNotAnswered")<{ readonly callId: string }> {}

/** The transcript was closed by a final segment batch. */
export class TranscriptAlreadyFinal extends Data.TaggedError("TranscriptAlreadyFinal")<{ readonly callId: string }> {}

/** Any rule the call decider enforces. */
export type CallRuleViolation =
  | CallNotFound
  | CallAlreadyExists
  | CallAlreadyEnded
  | CallNotActive
  | CallNotAnswered
  | TranscriptAlreadyFinal

/**
 * Commands to the call decider. Each carries `commandId` (the idempotency key: a retried command
 * with the same id appends nothing new) and `at`, the instant it happened at the source
 * (the decider never reads a clock).
 */
import type { CallEventData, Contact, SentimentScore, TranscriptSegment, LatencyBreakdown } from "./callEvents.js"
import type {
  AnsweredBy, CallType, Direction, Disposition, EndReason, EndStatus, JsonObject, Outcome, Sentiment
} from "./values.js"

interface CommandBase {
  readonly commandId: string
  readonly callId: string
  /** ISO-8601 instant the fact happened at its source. */
  readonly at: string
}

/** Record a new call (`POST /v1/calls`, a dialer, or an inbound call). */
export interface DialCall extends CommandBase {
  readonly type: "DialCall"
  readonly direction: Direction
  readonly callType: CallType
  readonly status: "queued" | "initiated"
  readonly from: string | null
  readonly to: string | null
  readonly contact: Contact
  readonly campaignId: string | null
  readonly agentId: string | null
  readonly agentName: string | null
  readonly scriptId: string | null
  readonly language: string | null
  readonly metadata: JsonObject
  readonly provider: string | null
  readonly callSid: string | null
}

/**
 * A telephony status callback (Twilio StatusCallback: `CallStatus`, `SequenceNumber`,
 * `CallDuration`, `AnsweredBy`). For an unknown call with `inbound` set, the call is created first.
 */
export interface ReportTelephonyStatus extends CommandBase {
  readonly type: "ReportTelephonyStatus"
  readonly callSid: string
  readonly status: TelephonyStatus
  /** Twilio `SequenceNumber`: order of callbacks for one call, from 0. */
  readonly sequenceNumber: number | null
  /** Twilio `CallDuration`, seconds, on a final status. */
  readonly durationSeconds: number | null
  readonly answeredBy: AnsweredBy | null
  readonly errorReason: string | null
  /** What to record if this callback is the first the ledger hears of an inbound call. */
  readonly inbound: Omit<CallEventData<"CallDialed">, "callId" | "at" | "status" | "direction" | "callSid"> | null
}

/** Twilio `CallStatus` values (Twilio docs, "StatusCallback parameters"). */
export type TelephonyStatus =
  | "queued" | "initiated" | "ringing" | "in-progress" | "completed" | "busy" | "failed" | "no-answer" | "canceled"

export interface AnswerCall extends CommandBase {
  readonly type: "AnswerCall"
  readonly answeredBy: AnsweredBy
}

export interface RecordTranscript extends CommandBase {
  readonly type: "RecordTranscript"
  readonly segments: ReadonlyArray<TranscriptSegment>
  readonly language: string | null
  readonly final: boolean
  readonly jobId: string | null
}

export interface SetDisposition extends CommandBase {
  readonly type: "SetDisposition"
  readonly disposition: Disposition | null
  readonly outcome: Outcome | null
  readonly sentiment: Sentiment | null
  readonly sentimentScore: SentimentScore | null
  readonly summary: string | null
  readonly keyDetails: JsonObject | null
}

export interface TransferCall extends CommandBase {
  readonly type: "TransferCall"
  readonly target: string
  readonly agentBrief: string | null
  readonly context: JsonObject
}

/** End the call. Status, outcome and duration are derived from the call when not given. */
export interface EndCall extends CommandBase {
  readonly type: "EndCall"
  readonly reason: EndReason
  readonly status: EndStatus | null
  readonly outcome: Outcome | null
  readonly durationSeconds: number | null
  readonly errorReason: string | null
}

export interface AttachRecording extends CommandBase {
  readonly type: "AttachRecording"
  readonly recordingRef: string
  readonly contentType: string
  readonly durationSeconds: number | null
}

export interface MergeMetadata extends CommandBase {
  readonly type: "MergeMetadata"
  readonly keyDetails: JsonObject
}

export interface RecordMetrics extends CommandBase {
  readonly type: "RecordMetrics"
  readonly cost: number | null
  readonly latency: LatencyBreakdown | null
  readonly providerUsage: JsonObject | null
}

/** Every command the call decider takes. */
export type CallCommand =
  | DialCall
  | ReportTelephonyStatus
  | AnswerCall
  | RecordTranscript
  | SetDisposition
  | TransferCall
  | EndCall
  | AttachRecording
  | MergeMetadata
  | RecordMetrics

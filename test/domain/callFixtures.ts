/**
 * Commands and events of one example call (`cal_test1`), built with overrides, for decider and
 * write-path tests. Instants are seconds after `t0` (see `at`).
 */
import type {
  AnswerCall, DialCall, EndCall, RecordTranscript, ReportTelephonyStatus, TelephonyStatus, TransferCall
} from "../../src/domain/callCommands.js"
import type { CallEvent, CallEventData } from "../../src/domain/callEvents.js"

/** The example call's id. */
export const callId = "cal_test1"
/** Its Twilio CallSid. */
export const callSid = "CA0123456789abcdef0123456789abcdef"

/** The instant `seconds` after 2024-02-01T09:14:00Z, as ISO-8601. */
export const at = (seconds: number): string => new Date(Date.parse("2024-02-01T09:14:00.000Z") + seconds * 1000).toISOString()

/** An outbound `DialCall` for the example call, queued at t0. */
export const dialCall = (overrides: Partial<DialCall> = {}): DialCall => ({
  type: "DialCall",
  commandId: "cmd-dial",
  callId,
  at: at(0),
  direction: "outbound",
  callType: "telephony_outbound",
  status: "queued",
  from: "+912250000000",
  to: "+919876543210",
  contact: { phone: "+919876543210", name: "Asha Rao", id: "ct_42" },
  campaignId: "cmp_renewals",
  agentId: "agt_7",
  agentName: "Priya",
  scriptId: "scr_1",
  language: "hi-IN",
  metadata: { crmId: "L-991" },
  provider: "twilio",
  callSid: null,
  ...overrides
})

/** The `CallDialed` a `dialCall(overrides)` records. */
export const callDialed = (overrides: Partial<DialCall> = {}): CallEvent => {
  const { type: _type, commandId: _commandId, ...data } = dialCall(overrides)
  return { type: "CallDialed", data }
}

/** A Twilio status callback for `cal_test1`, `seconds` after t0. */
export const telephonyStatus = (
  status: TelephonyStatus,
  sequenceNumber: number | null,
  seconds: number,
  overrides: Partial<ReportTelephonyStatus> = {}
): ReportTelephonyStatus => ({
  type: "ReportTelephonyStatus",
  commandId: `cmd-twilio-${status}-${sequenceNumber ?? "none"}-${seconds}`,
  callId,
  at: at(seconds),
  callSid,
  status,
  sequenceNumber,
  durationSeconds: null,
  answeredBy: null,
  errorReason: null,
  inbound: null,
  ...overrides
})

/** `AnswerCall` by a human at t0 + 10 s. */
export const answerCall = (overrides: Partial<AnswerCall> = {}): AnswerCall => ({
  type: "AnswerCall",
  commandId: "cmd-answer",
  callId,
  at: at(10),
  answeredBy: "human",
  ...overrides
})

/** `EndCall` (agent hangup) at t0 + 100 s, status, outcome and duration left to the decider. */
export const endCall = (overrides: Partial<EndCall> = {}): EndCall => ({
  type: "EndCall",
  commandId: "cmd-end",
  callId,
  at: at(100),
  reason: "agent_hangup",
  status: null,
  outcome: null,
  durationSeconds: null,
  errorReason: null,
  ...overrides
})

/** `TransferCall` to a human queue at t0 + 40 s. */
export const transferCall = (overrides: Partial<TransferCall> = {}): TransferCall => ({
  type: "TransferCall",
  commandId: "cmd-transfer",
  callId,
  at: at(40),
  target: "queue:renewals-humans",
  agentBrief: "Customer wants to renew, asks about the discount.",
  context: { plan: "gold" },
  ...overrides
})

/** `RecordTranscript` with two segments at t0 + 30 s, not final. */
export const recordTranscript = (overrides: Partial<RecordTranscript> = {}): RecordTranscript => ({
  type: "RecordTranscript",
  commandId: "cmd-transcript-1",
  callId,
  at: at(30),
  segments: [
    { speaker: "agent", text: "Namaste, main Priya bol rahi hoon.", startTime: 0.4, endTime: 2.9, confidence: 0.94 },
    { speaker: "customer", text: "Haan, boliye.", startTime: 3.2, endTime: 4.1, confidence: 0.88 }
  ],
  language: "hi-IN",
  final: false,
  jobId: "stt_1",
  ...overrides
})

/** `CallInitiated` with the example CallSid. */
export const callInitiated = (sequenceNumber: number | null, seconds: number): CallEvent =>
  ({ type: "CallInitiated", data: { callId, callSid, sequenceNumber, at: at(seconds) } })

/** `CallRinging`. */
export const callRinging = (sequenceNumber: number | null, seconds: number): CallEvent =>
  ({ type: "CallRinging", data: { callId, sequenceNumber, at: at(seconds) } })

/** `CallAnswered` by a human, without SequenceNumber unless overridden. */
export const callAnswered = (
  seconds: number,
  overrides: Partial<CallEventData<"CallAnswered">> = {}
): CallEvent => ({ type: "CallAnswered", data: { callId, answeredBy: "human", sequenceNumber: null, at: at(seconds), ...overrides } })

/** `CallEnded` completed and connected by an agent hangup, 0 s unless overridden. */
export const callEnded = (
  seconds: number,
  overrides: Partial<CallEventData<"CallEnded">> = {}
): CallEvent => ({
  type: "CallEnded",
  data: {
    callId, status: "completed", outcome: "connected", reason: "agent_hangup", durationSeconds: 0,
    errorReason: null, sequenceNumber: null, at: at(seconds), ...overrides
  }
})

/** The `CallTranscribed` a `RecordTranscript` command records. */
export const callTranscribed = (command: RecordTranscript): CallEvent => ({
  type: "CallTranscribed",
  data: {
    callId, segments: command.segments, language: command.language, final: command.final, jobId: command.jobId, at: command.at
  }
})

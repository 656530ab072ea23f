/**
 * The call decider: `decide(command, state)` returns the events a command produces, or the rule it
 * breaks. Pure: time arrives with the command. Rules:
 * - a command already applied (same `commandId`) produces nothing;
 * - a call is dialed once; every other command needs an existing call (`CallNotFound`);
 * - an ended call takes no new answer, transfer or end (`CallAlreadyEnded`);
 * - a transfer needs a live call not yet transferred (`CallNotActive`, seed 002: 409);
 * - telephony callbacks that are duplicate or late (Twilio `SequenceNumber` not above the last
 *   applied), out of order (a status behind the current one) or after the end change nothing;
 * - a transcript needs an answered call and closes with its final batch;
 * - no event of a call is recorded before its dial: an earlier `at` (Twilio's `Timestamp` has whole
 *   seconds only, and sources' clocks drift) is taken as the dial's instant.
 */
import { Either } from "effect"
import type { CallCommand, EndCall, ReportTelephonyStatus, TelephonyStatus } from "./callCommands.js"
import { CallAlreadyEnded, CallAlreadyExists, CallNotActive, CallNotAnswered, CallNotFound, TranscriptAlreadyFinal } from "./callErrors.js"
import type { CallRuleViolation } from "./callErrors.js"
import type { CallEvent } from "./callEvents.js"
import { hasCommandId } from "./commandIds.js"
import { evolve, initialState } from "./callState.js"
import type { CallState, Lifecycle } from "./callState.js"
import type { AnsweredBy, EndReason, EndStatus, Outcome } from "./values.js"

export type Decision = Either.Either<ReadonlyArray<CallEvent>, CallRuleViolation>

const none: Decision = Either.right([])
const emit = (...events: ReadonlyArray<CallEvent>): Decision => Either.right(events)
const fail = (error: CallRuleViolation): Decision => Either.left(error)

/** Decides a command against the call's current state. */
export const decide = (given: CallCommand, state: CallState): Decision => {
  if (hasCommandId(state.commandIds, given.commandId)) return none
  const command = notBeforeDial(given, state)
  if (state.lifecycle === "none" && command.type !== "DialCall" && command.type !== "ReportTelephonyStatus") {
    return fail(new CallNotFound({ callId: command.callId }))
  }
  const { callId, at } = command
  switch (command.type) {
    case "DialCall": {
      if (state.lifecycle !== "none") return fail(new CallAlreadyExists({ callId }))
      const { type: _type, commandId: _commandId, ...data } = command
      return emit({ type: "CallDialed", data })
    }
    case "ReportTelephonyStatus":
      return decideTelephonyStatus(command, state)
    case "AnswerCall": {
      if (state.lifecycle === "ended") return fail(new CallAlreadyEnded({ callId }))
      if (state.answeredAt !== null) return none
      return emit({ type: "CallAnswered", data: { callId, answeredBy: command.answeredBy, sequenceNumber: null, at } })
    }
    case "RecordTranscript": {
      if (state.answeredAt === null) return fail(new CallNotAnswered({ callId }))
      if (state.transcriptFinal) return fail(new TranscriptAlreadyFinal({ callId }))
      const { segments, language, final, jobId } = command
      return emit({ type: "CallTranscribed", data: { callId, segments, language, final, jobId, at } })
    }
    case "SetDisposition": {
      const { disposition, outcome, sentiment, sentimentScore, summary, keyDetails } = command
      return emit({
        type: "CallDispositioned",
        data: { callId, disposition, outcome, sentiment, sentimentScore, summary, keyDetails, at }
      })
    }
    case "TransferCall": {
      if (state.lifecycle !== "in_progress" || state.transferred) {
        return fail(new CallNotActive({ callId, status: state.transferred ? "transferred" : state.lifecycle }))
      }
      const { target, agentBrief, context } = command
      return emit({ type: "CallTransferred", data: { callId, target, agentBrief, context, at } })
    }
    case "EndCall": {
      if (state.lifecycle === "ended") return fail(new CallAlreadyEnded({ callId }))
      return emit(endedEvent(command, state))
    }
    case "AttachRecording": {
      const { recordingRef, contentType, durationSeconds } = command
      return emit({ type: "CallRecordingAttached", data: { callId, recordingRef, contentType, durationSeconds, at } })
    }
    case "MergeMetadata":
      return emit({ type: "CallMetadataMerged", data: { callId, keyDetails: command.keyDetails, at } })
    case "RecordMetrics": {
      const { cost, latency, providerUsage } = command
      return emit({ type: "CallMetricsRecorded", data: { callId, cost, latency, providerUsage, at } })
    }
    default:
      return absurd(command)
  }
}

/** The command with its instant moved up to the dial's when it names an earlier one. */
const notBeforeDial = <C extends CallCommand>(command: C, state: CallState): C =>
  state.startedAt !== null && command.type !== "DialCall" && Date.parse(command.at) < Date.parse(state.startedAt)
    ? { ...command, at: state.startedAt }
    : command

const absurd = (command: never): never => {
  throw new Error(`unhandled command ${JSON.stringify(command)}`)
}

/** Whole seconds between two instants, never negative. */
const secondsBetween = (from: string, to: string): number =>
  Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000))

const connectedOutcome = (answeredBy: AnsweredBy | null): Outcome =>
  answeredBy === "machine" ? "voicemail" : "connected"

const endedEvent = (command: EndCall, state: CallState): CallEvent => {
  const answered = state.answeredAt !== null
  const status: EndStatus = command.status ?? (answered ? "completed" : "canceled")
  const outcome: Outcome = command.outcome ?? (answered ? connectedOutcome(state.answeredBy) : "no-answer")
  const durationSeconds = command.durationSeconds ?? (answered ? secondsBetween(state.answeredAt!, command.at) : 0)
  return {
    type: "CallEnded",
    data: {
      callId: command.callId,
      status,
      outcome,
      reason: command.reason,
      durationSeconds: Math.round(durationSeconds),
      errorReason: command.errorReason,
      sequenceNumber: null,
      at: command.at
    }
  }
}

/** Order of telephony statuses: a callback behind the call's current stage is late. */
const rankOfStatus: Record<TelephonyStatus, number> = {
  queued: 0, initiated: 1, ringing: 2, "in-progress": 3,
  completed: 4, busy: 4, failed: 4, "no-answer": 4, canceled: 4
}
const rankOfLifecycle: Record<Lifecycle, number> = {
  none: -1, queued: 0, initiated: 1, ringing: 2, in_progress: 3, ended: 4
}

/** Twilio's final statuses and what the ledger records for each. */
const finalStatus: Partial<Record<TelephonyStatus, { status: EndStatus; outcome: Outcome; reason: EndReason }>> = {
  busy: { status: "busy", outcome: "no-answer", reason: "dial_busy" },
  "no-answer": { status: "no_answer", outcome: "no-answer", reason: "dial_no_answer" },
  failed: { status: "failed", outcome: "failed", reason: "dial_failed" },
  canceled: { status: "canceled", outcome: "failed", reason: "canceled" }
}

const decideTelephonyStatus = (command: ReportTelephonyStatus, current: CallState): Decision => {
  const { callId, at, sequenceNumber, callSid } = command
  const events: Array<CallEvent> = []
  let state = current
  if (state.lifecycle === "none") {
    if (command.inbound === null) return fail(new CallNotFound({ callId }))
    const dialed: CallEvent = {
      type: "CallDialed",
      data: { ...command.inbound, callId, direction: "inbound", status: "initiated", callSid, at }
    }
    events.push(dialed)
    state = evolve(state, dialed)
  }
  if (state.lifecycle === "ended") return emit(...events)
  if (sequenceNumber !== null && sequenceNumber <= state.lastSequence) return emit(...events)
  if (rankOfStatus[command.status] <= rankOfLifecycle[state.lifecycle]) return emit(...events)

  switch (command.status) {
    case "queued":
      break
    case "initiated":
      events.push({ type: "CallInitiated", data: { callId, callSid, sequenceNumber, at } })
      break
    case "ringing":
      events.push({ type: "CallRinging", data: { callId, sequenceNumber, at } })
      break
    case "in-progress":
      events.push({
        type: "CallAnswered",
        data: { callId, answeredBy: command.answeredBy ?? "unknown", sequenceNumber, at }
      })
      break
    case "completed": {
      const duration = command.durationSeconds ?? (state.answeredAt !== null ? secondsBetween(state.answeredAt, at) : 0)
      let answeredBy = state.answeredBy ?? command.answeredBy
      if (state.answeredAt === null) {
        // Twilio sends `completed` without `in-progress` when only final events are subscribed.
        answeredBy = command.answeredBy ?? "unknown"
        const answeredAt = new Date(Date.parse(at) - duration * 1000).toISOString()
        events.push({ type: "CallAnswered", data: { callId, answeredBy, sequenceNumber: null, at: answeredAt } })
      }
      events.push({
        type: "CallEnded",
        data: {
          callId, status: "completed", outcome: connectedOutcome(answeredBy), reason: "user_hangup",
          durationSeconds: Math.round(duration), errorReason: null, sequenceNumber, at
        }
      })
      break
    }
    case "busy":
    case "no-answer":
    case "failed":
    case "canceled": {
      const end = finalStatus[command.status]!
      events.push({
        type: "CallEnded",
        data: {
          callId, ...end, durationSeconds: 0, errorReason: command.errorReason, sequenceNumber, at
        }
      })
      break
    }
  }
  return emit(...events)
}

/** Folds a call's events, each with the id of the command that recorded it, into its state. */
export const foldCall = (
  events: ReadonlyArray<{ readonly event: CallEvent; readonly commandId?: string | undefined }>
): CallState => events.reduce((state, e) => evolve(state, e.event, e.commandId), initialState)

/** The call decider, as Emmett names its parts. */
export const callDecider = { decide, evolve, initialState } as const

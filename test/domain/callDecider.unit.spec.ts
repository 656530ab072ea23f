import { Either } from "effect"
import { describe, expect, it } from "vitest"
import {
  CallAlreadyEnded, CallAlreadyExists, CallNotActive, CallNotAnswered, CallNotFound, TranscriptAlreadyFinal
} from "../../src/domain/callErrors.js"
import type { CallEvent } from "../../src/domain/callEvents.js"
import type { ReportTelephonyStatus } from "../../src/domain/callCommands.js"
import {
  answerCall, at, callAnswered, callDialed, callEnded, callId, callInitiated, callRinging, callSid, callTranscribed,
  dialCall, endCall, recordTranscript, telephonyStatus, transferCall
} from "./callFixtures.js"
import { decide, foldCall } from "../../src/domain/callDecider.js"
import { evolve } from "../../src/domain/callState.js"
import { given, recordedBy } from "./deciderSpecification.js"

const dialed = callDialed()
const answered = callAnswered(10)

describe("call decider", () => {
  describe("time", () => {
    it("records a callback stamped before the dial (Twilio's whole-second Timestamp) at the dial's instant", () => {
      const dialedLate = callDialed({ at: at(0.4) })
      given([dialedLate]).when(telephonyStatus("ringing", 1, 0)).then([callRinging(1, 0.4)])
    })

    it("keeps a report's own instant when it is after the dial", () => {
      given([dialed]).when(telephonyStatus("ringing", 1, 2)).then([callRinging(1, 2)])
    })
  })

  describe("dialing", () => {
    it("records a new call", () => {
      given([]).when(dialCall()).then([dialed])
    })

    it("takes the same dial again (same commandId) as a no-op", () => {
      given([recordedBy("cmd-dial", dialed)]).when(dialCall()).thenNothing()
    })

    it("refuses a second dial of the same call by another command", () => {
      given([recordedBy("cmd-dial", dialed)]).when(dialCall({ commandId: "cmd-dial-again" }))
        .thenFails(CallAlreadyExists, { callId })
    })

    it.each([
      ["answer", answerCall()],
      ["transfer", transferCall()],
      ["end", endCall()],
      ["transcript", recordTranscript()],
      ["metadata", { type: "MergeMetadata", commandId: "cmd-merge", callId, at: at(5), keyDetails: { a: 1 } } as const]
    ])("refuses a %s for a call never dialed", (_, command) => {
      given([]).when(command).thenFails(CallNotFound, { callId })
    })
  })

  describe("answering", () => {
    it("records the answer with who answered", () => {
      given([dialed]).when(answerCall({ answeredBy: "machine" })).then([callAnswered(10, { answeredBy: "machine" })])
    })

    it("takes a second answer of an answered call as a no-op", () => {
      given([dialed, answered]).when(answerCall({ commandId: "cmd-answer-2", at: at(12) })).thenNothing()
    })

    it("refuses to answer an ended call", () => {
      given([dialed, callEnded(20, { status: "canceled", outcome: "no-answer" })]).when(answerCall())
        .thenFails(CallAlreadyEnded, { callId })
    })
  })

  describe("ending", () => {
    it("computes the duration from the answer to the end, in whole seconds", () => {
      given([dialed, answered]).when(endCall({ at: at(100.4) }))
        .then([callEnded(100.4, { durationSeconds: 90, status: "completed", outcome: "connected", reason: "agent_hangup" })])
    })

    it("records voicemail when a machine answered", () => {
      given([dialed, callAnswered(10, { answeredBy: "machine" })]).when(endCall({ reason: "timeout" }))
        .then([callEnded(100, { durationSeconds: 90, outcome: "voicemail", reason: "timeout" })])
    })

    it("ends a call never answered as canceled with no answer and no duration", () => {
      given([dialed]).when(endCall({ reason: "user_hangup", at: at(25) }))
        .then([callEnded(25, { status: "canceled", outcome: "no-answer", reason: "user_hangup", durationSeconds: 0 })])
    })

    it("keeps the status, outcome and duration the command gives", () => {
      given([dialed, answered]).when(endCall({ reason: "dnc_request", status: "completed", outcome: "connected", durationSeconds: 61.6 }))
        .then([callEnded(100, { reason: "dnc_request", durationSeconds: 62 })])
    })

    it("refuses to end a call twice", () => {
      given([dialed, answered, callEnded(50)]).when(endCall()).thenFails(CallAlreadyEnded, { callId })
    })
  })

  describe("transferring", () => {
    it("bridges a live call to a human queue", () => {
      const command = transferCall()
      given([dialed, answered]).when(command).then([{
        type: "CallTransferred",
        data: { callId, target: command.target, agentBrief: command.agentBrief, context: command.context, at: command.at }
      }])
    })

    it.each<[string, ReadonlyArray<CallEvent>, string]>([
      ["not yet answered", [dialed, callRinging(1, 5)], "ringing"],
      ["ended", [dialed, answered, callEnded(30)], "ended"],
      ["transferred already", [dialed, answered, { type: "CallTransferred", data: { callId, target: "q", agentBrief: null, context: {}, at: at(20) } }], "transferred"]
    ])("refuses a call %s (409: not active)", (_, history, status) => {
      given(history).when(transferCall()).thenFails(CallNotActive, { callId, status })
    })
  })

  describe("telephony callbacks (Twilio StatusCallback)", () => {
    it("follows an outbound call through initiated, ringing, in-progress and completed", () => {
      given([dialed]).when(telephonyStatus("initiated", 0, 1)).then([callInitiated(0, 1)])
      given([dialed, callInitiated(0, 1)]).when(telephonyStatus("ringing", 1, 3)).then([callRinging(1, 3)])
      given([dialed, callInitiated(0, 1), callRinging(1, 3)])
        .when(telephonyStatus("in-progress", 2, 10, { answeredBy: "human" }))
        .then([callAnswered(10, { sequenceNumber: 2 })])
      given([dialed, callInitiated(0, 1), callRinging(1, 3), callAnswered(10, { sequenceNumber: 2 })])
        .when(telephonyStatus("completed", 3, 52, { durationSeconds: 42 }))
        .then([callEnded(52, { reason: "user_hangup", durationSeconds: 42, sequenceNumber: 3 })])
    })

    it("ignores a duplicate callback (same SequenceNumber), whatever its command id", () => {
      given([dialed, callInitiated(0, 1), callRinging(1, 3)])
        .when(telephonyStatus("ringing", 1, 3, { commandId: "cmd-twilio-retry" }))
        .thenNothing()
    })

    it("ignores a late callback (lower SequenceNumber)", () => {
      given([dialed, callAnswered(10, { sequenceNumber: 2 })]).when(telephonyStatus("ringing", 1, 4)).thenNothing()
      given([dialed, callAnswered(10, { sequenceNumber: 2 })]).when(telephonyStatus("initiated", 0, 1)).thenNothing()
    })

    it("ignores a SequenceNumber already passed even when its status would move the call on", () => {
      given([dialed, callRinging(3, 5)]).when(telephonyStatus("in-progress", 2, 10)).thenNothing()
      given([dialed, callRinging(3, 5)]).when(telephonyStatus("in-progress", 3, 10)).thenNothing()
    })

    it("ignores a status behind the call's stage (ringing after in-progress), even with a higher or no SequenceNumber", () => {
      given([dialed, callAnswered(10, { sequenceNumber: 2 })]).when(telephonyStatus("ringing", 5, 11)).thenNothing()
      given([dialed, callAnswered(10)]).when(telephonyStatus("ringing", null, 11)).thenNothing()
    })

    it("ignores queued", () => {
      given([dialed]).when(telephonyStatus("queued", 0, 0)).thenNothing()
    })

    it("records the answer implied by completed without in-progress, dated back by CallDuration", () => {
      given([dialed, callRinging(1, 3)]).when(telephonyStatus("completed", 2, 60, { durationSeconds: 30 })).then([
        callAnswered(30, { answeredBy: "unknown" }),
        callEnded(60, { reason: "user_hangup", durationSeconds: 30, sequenceNumber: 2 })
      ])
    })

    it("records voicemail when AnsweredBy says a machine answered", () => {
      given([dialed, callRinging(1, 3)]).when(telephonyStatus("in-progress", 2, 10, { answeredBy: "machine" }))
        .then([callAnswered(10, { answeredBy: "machine", sequenceNumber: 2 })])
      given([dialed, callAnswered(10, { answeredBy: "machine", sequenceNumber: 2 })])
        .when(telephonyStatus("completed", 3, 35, { durationSeconds: 25 }))
        .then([callEnded(35, { outcome: "voicemail", reason: "user_hangup", durationSeconds: 25, sequenceNumber: 3 })])
      given([dialed]).when(telephonyStatus("completed", 1, 35, { durationSeconds: 25, answeredBy: "machine" })).then([
        callAnswered(10, { answeredBy: "machine" }),
        callEnded(35, { outcome: "voicemail", reason: "user_hangup", durationSeconds: 25, sequenceNumber: 1 })
      ])
    })

    it("computes the duration from the answer when completed carries no CallDuration", () => {
      given([dialed, callAnswered(10, { sequenceNumber: 2 })]).when(telephonyStatus("completed", 3, 70.2))
        .then([callEnded(70.2, { reason: "user_hangup", durationSeconds: 60, sequenceNumber: 3 })])
    })

    it.each<[ReportTelephonyStatus["status"], Partial<Extract<CallEvent, { type: "CallEnded" }>["data"]>]>([
      ["busy", { status: "busy", outcome: "no-answer", reason: "dial_busy" }],
      ["no-answer", { status: "no_answer", outcome: "no-answer", reason: "dial_no_answer" }],
      ["failed", { status: "failed", outcome: "failed", reason: "dial_failed", errorReason: "21217: invalid number" }],
      ["canceled", { status: "canceled", outcome: "failed", reason: "canceled" }]
    ])("maps %s to an ended call that never connected", (status, ended) => {
      given([dialed, callRinging(1, 3)])
        .when(telephonyStatus(status, 2, 33, { errorReason: ended.errorReason ?? null }))
        .then([callEnded(33, { durationSeconds: 0, sequenceNumber: 2, errorReason: null, ...ended })])
    })

    it("changes nothing after the call ended", () => {
      const ended = callEnded(50, { reason: "agent_hangup", durationSeconds: 40 })
      given([dialed, answered, ended]).when(telephonyStatus("completed", 4, 51, { durationSeconds: 41 })).thenNothing()
      given([dialed, answered, ended]).when(telephonyStatus("in-progress", 3, 52)).thenNothing()
      given([dialed, callEnded(20, { status: "busy", outcome: "no-answer", reason: "dial_busy" })])
        .when(telephonyStatus("no-answer", 3, 40)).thenNothing()
    })

    it("refuses a callback for an unknown call that is not inbound", () => {
      given([]).when(telephonyStatus("ringing", 0, 1)).thenFails(CallNotFound, { callId })
    })

    describe("an inbound call", () => {
      const inbound: NonNullable<ReportTelephonyStatus["inbound"]> = {
        callType: "telephony_inbound",
        from: "+919876543210",
        to: "+912250000000",
        contact: { phone: "+919876543210", name: null, id: null },
        campaignId: null, agentId: "agt_in", agentName: "Reception", scriptId: null, language: "en-IN",
        metadata: {}, provider: "twilio"
      }
      const inboundDialed = (seconds: number): CallEvent => ({
        type: "CallDialed",
        data: { ...inbound, callId, direction: "inbound", status: "initiated", callSid, at: at(seconds) }
      })

      it("is created by its first callback, which is then applied", () => {
        given([]).when(telephonyStatus("ringing", 0, 1, { inbound })).then([inboundDialed(1), callRinging(0, 1)])
        given([]).when(telephonyStatus("in-progress", 1, 4, { inbound, answeredBy: "human" }))
          .then([inboundDialed(4), callAnswered(4, { sequenceNumber: 1 })])
      })

      it("records only the call when the first callback is initiated", () => {
        given([]).when(telephonyStatus("initiated", 0, 1, { inbound })).then([inboundDialed(1)])
      })

      it("is not created twice by a retried first callback", () => {
        const first = telephonyStatus("ringing", 0, 1, { inbound })
        given([recordedBy(first.commandId, inboundDialed(1)), recordedBy(first.commandId, callRinging(0, 1))])
          .when(first).thenNothing()
        given([inboundDialed(1), callRinging(0, 1)])
          .when(telephonyStatus("ringing", 0, 1, { inbound, commandId: "cmd-twilio-again" })).thenNothing()
      })
    })
  })

  describe("transcripts", () => {
    it("needs an answered call", () => {
      given([dialed, callRinging(1, 3)]).when(recordTranscript()).thenFails(CallNotAnswered, { callId })
    })

    it("records segments of an answered call, also after it ended", () => {
      const command = recordTranscript()
      given([dialed, answered]).when(command).then([callTranscribed(command)])
      given([dialed, answered, callEnded(90)]).when(command).then([callTranscribed(command)])
    })

    it("closes with its final batch", () => {
      const final = recordTranscript({ commandId: "cmd-transcript-final", final: true })
      given([dialed, answered]).when(final).then([callTranscribed(final)])
      given([dialed, answered, callTranscribed(final)])
        .when(recordTranscript({ commandId: "cmd-transcript-3" }))
        .thenFails(TranscriptAlreadyFinal, { callId })
    })
  })

  describe("post-call facts", () => {
    const ended = callEnded(90, { durationSeconds: 80 })

    it("records disposition, recording, metadata and metrics of an ended call", () => {
      given([dialed, answered, ended]).when({
        type: "SetDisposition", commandId: "cmd-dispo", callId, at: at(95), disposition: "interested", outcome: "connected",
        sentiment: "positive", sentimentScore: { overall: 0.6, bySpeaker: { customer: 0.5 } }, summary: "Wants the gold plan.",
        keyDetails: { plan: "gold" }
      }).then([{
        type: "CallDispositioned",
        data: {
          callId, disposition: "interested", outcome: "connected", sentiment: "positive",
          sentimentScore: { overall: 0.6, bySpeaker: { customer: 0.5 } }, summary: "Wants the gold plan.",
          keyDetails: { plan: "gold" }, at: at(95)
        }
      }])
      given([dialed, answered, ended]).when({
        type: "AttachRecording", commandId: "cmd-rec", callId, at: at(96), recordingRef: "RE123.wav", contentType: "audio/wav",
        durationSeconds: 80
      }).then([{
        type: "CallRecordingAttached",
        data: { callId, recordingRef: "RE123.wav", contentType: "audio/wav", durationSeconds: 80, at: at(96) }
      }])
      given([dialed, answered, ended]).when({
        type: "RecordMetrics", commandId: "cmd-metrics", callId, at: at(97), cost: 1.25,
        latency: { transcriberMs: 120, agentMs: 640, synthesizerMs: 210 }, providerUsage: null
      }).then([{
        type: "CallMetricsRecorded",
        data: { callId, cost: 1.25, latency: { transcriberMs: 120, agentMs: 640, synthesizerMs: 210 }, providerUsage: null, at: at(97) }
      }])
    })

    it("takes the same command retried as a no-op, and the same fact from a new command again", () => {
      const merged: CallEvent = { type: "CallMetadataMerged", data: { callId, keyDetails: { score: 7 }, at: at(98) } }
      const merge = { type: "MergeMetadata", commandId: "cmd-merge", callId, at: at(98), keyDetails: { score: 7 } } as const
      given([dialed, answered, ended, recordedBy("cmd-merge", merged)]).when(merge).thenNothing()
      given([dialed, answered, ended, recordedBy("cmd-merge", merged)]).when({ ...merge, commandId: "cmd-merge-2" }).then([merged])
      given([dialed, answered, recordedBy("cmd-end", ended)]).when(endCall()).thenNothing()
    })

    it("keeps each state's command ids its own when two states are evolved from one (a cached state settled twice)", () => {
      const base = foldCall([{ event: dialed, commandId: "cmd-dial" }, { event: answered, commandId: "cmd-answer" }])
      const first = recordTranscript({ commandId: "cmd-transcript-a" })
      const second = recordTranscript({ commandId: "cmd-transcript-b" })
      const afterFirst = evolve(base, callTranscribed(first), first.commandId)
      const afterSecond = evolve(base, callTranscribed(second), second.commandId)
      expect(decide(first, afterFirst)).toEqual(Either.right([]))
      expect(decide(second, afterSecond)).toEqual(Either.right([]))
      expect(decide(second, afterFirst)).toEqual(Either.right([callTranscribed(second)]))
      expect(decide(first, afterSecond)).toEqual(Either.right([callTranscribed(first)]))
      expect(decide(first, base)).toEqual(Either.right([callTranscribed(first)]))
    })
  })
})

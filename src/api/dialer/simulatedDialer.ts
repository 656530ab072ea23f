/**
 * `LEDGER_DIALER=simulated`: a dialer for development that plays each call's lifecycle through the
 * ledger's write path (`CallLedger.execute`, the decider, the log), as Twilio's status callbacks and
 * the agent pipeline would: initiated, ringing, then answered or not, transcript, disposition, end,
 * recording and metrics, one step every `LEDGER_SIMULATED_STEP_MS` (time runs compressed: a
 * connected call lasts a few steps, and its duration is what really elapsed).
 *
 * The outcome follows the number's last digit, like a telephony provider's test numbers:
 * | last digit | outcome |
 * |---|---|
 * | 0 to 5 | a person answers: a conversation, a disposition, a recording |
 * | 6 | an answering machine (voicemail) |
 * | 7 | no answer |
 * | 8 | busy |
 * | 9 | the provider refuses the number (`DialFailed`: "Invalid number", as seed 004 shows it) |
 *
 * A lifecycle stops at the first step the decider refuses (the call was ended or transferred by a
 * workflow meanwhile) and when `hangup` is called; lifecycles are not resumed after a restart.
 */
import { Clock, Duration, Effect, FiberMap, Layer } from "effect"
import { randomBytes } from "node:crypto"
import type { CallCommand, TelephonyStatus } from "../../domain/callCommands.js"
import type { AnsweredBy, Disposition, Sentiment } from "../../domain/values.js"
import { CallLedger } from "../callLedger.js"
import { Dialer, DialFailed } from "./dialer.js"
import type { DialerService, DialRequest } from "./dialer.js"

/** How a simulated call goes, by the number's last digit. */
export type SimulatedOutcome = "connected" | "voicemail" | "no-answer" | "busy" | "refused"

/** The outcome the simulated dialer plays for `phone` (E.164). */
export const simulatedOutcomeFor = (phone: string): SimulatedOutcome => {
  const digit = Number(phone.at(-1))
  if (digit <= 5) return "connected"
  return (["voicemail", "no-answer", "busy", "refused"] as const)[digit - 6] ?? "connected"
}

const analyses: ReadonlyArray<{ disposition: Disposition; sentiment: Sentiment; overall: number; summary: string }> = [
  { disposition: "interested", sentiment: "positive", overall: 0.62, summary: "Contact is interested and asked for the offer by email." },
  { disposition: "callback", sentiment: "neutral", overall: 0.1, summary: "Contact was busy and asked to be called back tomorrow." },
  { disposition: "not_interested", sentiment: "negative", overall: -0.35, summary: "Contact is not interested." },
  { disposition: "escalated", sentiment: "positive", overall: 0.42, summary: "Contact asked to speak to a human agent." }
]

/** A stable pick from `callId`, so one call always plays the same way. */
const pick = <A>(callId: string, choices: ReadonlyArray<A>): A => {
  let hash = 0
  for (const ch of callId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0
  return choices[hash % choices.length]!
}

const conversation = (name: string | null) => [
  { speaker: "agent" as const, text: `Hello${name === null ? "" : ` ${name}`}, this is Aria calling. Is now a good time to talk?`, startTime: 0.4, endTime: 4.6, confidence: 0.97 },
  { speaker: "customer" as const, text: "Yes, go ahead.", startTime: 5.2, endTime: 6.3, confidence: 0.95 },
  { speaker: "agent" as const, text: "I'm calling about your appointment next week. Shall I confirm it for you?", startTime: 6.9, endTime: 11.8, confidence: 0.96 },
  { speaker: "customer" as const, text: "Let me think about it, please send me the details.", startTime: 12.4, endTime: 15.9, confidence: 0.93 }
]

/** The simulated dialer over the ledger's write path. Lifecycles run in the layer's scope. */
export const simulatedDialerLayer = (options: { readonly stepMillis: number }): Layer.Layer<Dialer, never, CallLedger> =>
  Layer.scoped(
    Dialer,
    Effect.gen(function*() {
      const ledger = yield* CallLedger
      const lifecycles = yield* FiberMap.make<string>()
      const step = Effect.sleep(Duration.millis(options.stepMillis))
      const at = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

      const run = (command: (at: string) => CallCommand) =>
        Effect.flatMap(at, (now) => ledger.execute(command(now)))

      const telephony = (callId: string, callSid: string, status: TelephonyStatus, sequenceNumber: number, answeredBy: AnsweredBy | null = null) =>
        run((now) => ({
          type: "ReportTelephonyStatus",
          commandId: `simulated:${callSid}:${status}:${sequenceNumber}`,
          callId,
          at: now,
          callSid,
          status,
          sequenceNumber,
          durationSeconds: null,
          answeredBy,
          errorReason: null,
          inbound: null
        }))

      const lifecycle = (request: DialRequest, callSid: string, outcome: SimulatedOutcome) =>
        Effect.gen(function*() {
          const { callId } = request
          const commandId = (name: string) => `simulated:${callSid}:${name}`
          yield* step
          yield* telephony(callId, callSid, "ringing", 1)
          yield* step
          if (outcome === "no-answer" || outcome === "busy") {
            yield* telephony(callId, callSid, outcome, 2)
            return
          }
          yield* telephony(callId, callSid, "in-progress", 2, outcome === "voicemail" ? "machine" : "human")
          const segments = conversation(request.contactName)
          if (outcome === "connected") {
            yield* step
            yield* run((now) => ({
              type: "RecordTranscript", commandId: commandId("transcript-1"), callId, at: now,
              segments: segments.slice(0, 2), language: request.language, final: false, jobId: `job_${callSid.slice(2, 14)}`
            }))
            yield* step
            yield* run((now) => ({
              type: "RecordTranscript", commandId: commandId("transcript-2"), callId, at: now,
              segments: segments.slice(2), language: request.language, final: true, jobId: `job_${callSid.slice(2, 14)}`
            }))
          }
          yield* step
          const analysis = outcome === "voicemail"
            ? { disposition: "not_reachable" as const, sentiment: "neutral" as const, overall: 0, summary: "Reached voicemail; left a message." }
            : pick(callId, analyses)
          yield* run((now) => ({
            type: "SetDisposition", commandId: commandId("disposition"), callId, at: now,
            disposition: analysis.disposition,
            outcome: outcome === "voicemail" ? "voicemail" : "connected",
            sentiment: analysis.sentiment,
            sentimentScore: outcome === "voicemail" ? null : { overall: analysis.overall, bySpeaker: { agent: 0.6, customer: analysis.overall } },
            summary: analysis.summary,
            keyDetails: null
          }))
          yield* step
          yield* telephony(callId, callSid, "completed", 3, outcome === "voicemail" ? "machine" : "human")
          yield* run((now) => ({
            type: "AttachRecording", commandId: commandId("recording"), callId, at: now,
            recordingRef: `https://simulated-dialer.invalid/recordings/${callSid}.mp3`,
            contentType: "audio/mpeg",
            durationSeconds: null
          }))
          yield* run((now) => ({
            type: "RecordMetrics", commandId: commandId("metrics"), callId, at: now,
            cost: outcome === "voicemail" ? 0.4 : 1.8,
            latency: { transcriberMs: 180, agentMs: 620, synthesizerMs: 210 },
            providerUsage: {
              deepgram: { type: "stt", model: "nova-2" },
              openai: { type: "llm", model: "gpt-4o" },
              elevenlabs: { type: "tts", model: "eleven_turbo_v2" }
            }
          }))
        }).pipe(
          // The decider refused a step: a workflow ended or transferred the call meanwhile.
          Effect.catchAll(() => Effect.void)
        )

      const service: DialerService = {
        name: "simulated",
        dial: (request) =>
          Effect.gen(function*() {
            const outcome = simulatedOutcomeFor(request.to)
            if (outcome === "refused") return yield* Effect.fail(new DialFailed({ reason: "Invalid number" }))
            const callSid = `CA${randomBytes(16).toString("hex")}`
            yield* telephony(request.callId, callSid, "initiated", 0).pipe(
              Effect.mapError((e) => new DialFailed({ reason: `the ledger refused the call: ${e._tag}` }))
            )
            yield* FiberMap.run(lifecycles, request.callId, lifecycle(request, callSid, outcome))
            return { callSid }
          }),
        transfer: () => Effect.void,
        hangup: ({ callId }) => FiberMap.remove(lifecycles, callId)
      }
      return service
    })
  )

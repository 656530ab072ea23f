/**
 * Realistic call scenarios for `call-ledger simulate`: the outcome mix of seed 002's stats example
 * (891 calls: 543 connected, 124 voicemail, 189 no-answer, 35 failed), Twilio status callbacks in
 * order with their `SequenceNumber`, the agent pipeline's reports (transcript, disposition,
 * metrics, recording, sometimes a transfer), and a little telephony noise: duplicate and
 * out-of-order callbacks, which the ledger must absorb without change.
 */
import type { SeededRandom } from "./seededRandom.js"

export type ScenarioOutcome = "connected" | "voicemail" | "no-answer" | "failed"

/** Seed 002's example mix, as weights. */
export const outcomeMix: Readonly<Record<ScenarioOutcome, number>> = {
  connected: 543,
  voicemail: 124,
  "no-answer": 189,
  failed: 35
}

/** One step of a scenario: a Twilio callback or an agent-pipeline report, at an offset in seconds from the dial. */
export type ScenarioStep =
  | { readonly kind: "twilio"; readonly offsetSeconds: number; readonly params: Readonly<Record<string, string>>; readonly noise?: "duplicate" | "out-of-order" }
  | { readonly kind: "report"; readonly offsetSeconds: number; readonly body: Readonly<Record<string, unknown>> }

export interface CallScenario {
  readonly outcome: ScenarioOutcome
  readonly callSid: string
  /** `POST /v1/calls` body, seed 001's shape. */
  readonly createBody: Readonly<Record<string, unknown>>
  readonly steps: ReadonlyArray<ScenarioStep>
}

const names = ["Priya Sharma", "Rahul Verma", "Ananya Iyer", "Arjun Nair", "Meera Pillai", "Vikram Singh", "Sara Khan", "Dev Patel", "Kavya Rao", "Rohan Gupta"]
const campaigns = ["cmp_4Rv8sT1wX", "cmp_loanRenewal", "cmp_apptReminder"]
const languages = ["hi-IN", "en-IN", "ta-IN", "en-US"]
const scripts = ["scr_appt_reminder", "scr_loan_renewal", "scr_feedback"]
const connectedDispositions = { interested: 30, not_interested: 25, callback: 20, escalated: 12, dnd: 5, not_reachable: 8 } as const
const sentiments = { positive: 312, neutral: 189, negative: 42 } as const

const lines: ReadonlyArray<readonly ["agent" | "customer", string]> = [
  ["agent", "Namaste, main VInfer ki taraf se baat kar raha hoon. Kya aap abhi baat kar sakte hain?"],
  ["customer", "Haan, bataiye."],
  ["agent", "Aapka loan renewal ka time aa gaya hai. Kya aap is baare mein baat karna chahenge?"],
  ["customer", "Haan, mujhe kisi se baat karni hai."],
  ["agent", "Your appointment with Dr. Kapoor is on the 3rd of February. Shall I confirm it?"],
  ["customer", "Yes, please confirm."],
  ["agent", "Done. Is there anything else I can help you with?"],
  ["customer", "No, that's all. Thank you."]
]

const twilio = (callSid: string, from: string, to: string, status: string, sequence: number, extra: Record<string, string> = {}) => ({
  CallSid: callSid,
  AccountSid: "AC00000000000000000000000000000000",
  From: from,
  To: to,
  Direction: "outbound-api",
  ApiVersion: "2010-04-01",
  CallStatus: status,
  SequenceNumber: String(sequence),
  CallbackSource: "call-progress-events",
  ...extra
})

/** Builds the scenario of the `index`-th simulated call. */
export const callScenario = (random: SeededRandom, index: number, fromNumber: string): CallScenario => {
  const outcome = random.weighted(outcomeMix)
  const callSid = `CA${random.hex(32)}`
  const to = `+919${String(random.int(100000000, 999999999))}`
  const language = random.pick(languages)
  const createBody = {
    phone: to,
    name: random.pick(names),
    script_id: random.pick(scripts),
    language,
    campaign_id: random.pick(campaigns),
    metadata: { simulation_index: index, appointment_date: "3rd February", clinic: "Sunrise Health" }
  }
  const steps: Array<ScenarioStep> = []
  const callback = (offsetSeconds: number, status: string, sequence: number, extra?: Record<string, string>) =>
    steps.push({ kind: "twilio", offsetSeconds, params: twilio(callSid, fromNumber, to, status, sequence, extra) })
  callback(0.4, "initiated", 0)
  if (outcome === "failed") {
    callback(1.2, "failed", 1, { ErrorCode: "13224", ErrorMessage: "Invalid phone number" })
    return { outcome, callSid, createBody, steps }
  }
  callback(2, "ringing", 1)
  if (outcome === "no-answer") {
    callback(32, "no-answer", 2)
    return { outcome, callSid, createBody, steps }
  }
  const answerAt = random.int(4, 15)
  const machine = outcome === "voicemail"
  callback(answerAt, "in-progress", 2, { AnsweredBy: machine ? "machine_end_beep" : "human" })
  if (random.next() < 0.05) steps.push({ ...steps[steps.length - 1]!, noise: "duplicate" } as ScenarioStep)
  if (random.next() < 0.03) {
    steps.push({ kind: "twilio", offsetSeconds: 2, params: twilio(callSid, fromNumber, to, "ringing", 1), noise: "out-of-order" })
  }
  const duration = machine ? random.int(12, 30) : random.int(30, 240)
  const segmentCount = machine ? 1 : random.int(3, 8)
  let t = 0.4
  const segments = Array.from({ length: segmentCount }, (_, i) => {
    const [speaker, text] = machine ? (["agent", "Hello, this is a reminder about your appointment. Please call us back."] as const) : lines[i % lines.length]!
    const length = Math.max(1, text.length / 15)
    const segment = {
      speaker,
      text,
      start_time: Math.round(t * 10) / 10,
      end_time: Math.round((t + length) * 10) / 10,
      confidence: Math.round((0.85 + random.next() * 0.14) * 100) / 100
    }
    t += length + 0.5
    return segment
  })
  const endAt = answerAt + duration
  steps.push({ kind: "report", offsetSeconds: endAt - 1, body: { type: "transcribed", segments, language, final: true, job_id: `job_${random.hex(10)}` } })
  const disposition = machine ? "not_reachable" : random.weighted(connectedDispositions)
  if (disposition === "escalated") {
    steps.push({
      kind: "report",
      offsetSeconds: endAt - 5,
      body: { type: "transferred", target: "sales_specialist", agent_brief: "Wants loan renewal details; ready to proceed.", context: { intent_score: random.int(60, 99) } }
    })
  }
  const sentiment = random.weighted(sentiments)
  steps.push({
    kind: "report",
    offsetSeconds: endAt - 0.5,
    body: {
      type: "dispositioned",
      disposition,
      sentiment,
      sentiment_score: { overall: sentiment === "positive" ? 0.6 : sentiment === "neutral" ? 0.1 : -0.5, by_speaker: { agent: 0.65, customer: 0.3 } },
      summary: machine ? "Voicemail reached; reminder left." : `Customer was ${disposition.replace("_", " ")}.`,
      key_details: { extraction: { intent_score: random.int(0, 100) } }
    }
  })
  steps.push({
    kind: "report",
    offsetSeconds: endAt - 0.2,
    body: {
      type: "metrics",
      cost: Math.round(duration * 0.02 * 100) / 100,
      latency: { transcriber_ms: random.int(80, 300), agent_ms: random.int(300, 900), synthesizer_ms: random.int(100, 400) },
      provider_usage: { deepgram: { type: "stt", model: "nova-2" }, openai: { type: "llm", model: "gpt-4o" }, elevenlabs: { type: "tts", model: "eleven_turbo_v2" } }
    }
  })
  callback(endAt, "completed", 3, { CallDuration: String(duration), ...(machine ? { AnsweredBy: "machine_end_beep" } : {}) })
  if (random.next() < 0.05) steps.push({ ...steps[steps.length - 1]!, noise: "duplicate" } as ScenarioStep)
  steps.push({
    kind: "report",
    offsetSeconds: endAt + 3,
    body: { type: "recording", recording_url: `https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE${random.hex(32)}.mp3`, content_type: "audio/mpeg", duration_seconds: duration }
  })
  return { outcome, callSid, createBody, steps }
}

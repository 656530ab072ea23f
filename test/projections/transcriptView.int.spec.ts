import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readTranscript } from "../../src/projections/transcriptView.js"
import { after, answer, dial, disposition, end, makeLedger, transcript } from "./callScenarios.js"

const t0 = "2024-02-01T09:14:03Z"

describe("transcript view", () => {
  let ledger: Awaited<ReturnType<typeof makeLedger>>
  beforeAll(async () => {
    ledger = await makeLedger()
  })
  afterAll(() => ledger.close())

  it("is null for an unknown call and processing until the final batch, then the seed 001 shape", async () => {
    const id = "cal_9Hm3kP7qZ"
    expect(readTranscript(ledger.db, id)).toBeNull()
    await ledger.send(dial(id, t0, { language: "hi-IN" }), answer(id, after(t0, 5)))
    await ledger.catchUp()
    expect(readTranscript(ledger.db, id)).toEqual({ call_id: id, status: "processing" })

    await ledger.send(
      transcript(id, after(t0, 20), [
        { speaker: "agent", text: "Namaste, Priya ji.", startTime: 0.4, endTime: 5.1, confidence: 0.97 },
        { speaker: "customer", text: "Haan, bataiye.", startTime: 5.9, endTime: 7.2, confidence: 0.95 }
      ], false, null, "job_2Kn7wR4pM")
    )
    await ledger.catchUp()
    expect(readTranscript(ledger.db, id)).toEqual({ call_id: id, status: "processing" })

    await ledger.send(
      transcript(id, after(t0, 146), [
        { speaker: "agent", text: "Aapka loan renewal ka time aa gaya hai.", startTime: 7.6, endTime: 13.0, confidence: 0.96 },
        { speaker: "customer", text: "Please mujhe connect karein.", startTime: 13.5, endTime: 18.2, confidence: null }
      ], true),
      disposition(id, after(t0, 147), {
        summary: "Customer expressed interest in loan renewal and requested escalation to a human agent.",
        sentimentScore: { overall: 0.42, bySpeaker: { agent: 0.65, customer: 0.38 } }
      }),
      end(id, after(t0, 147), "user_hangup")
    )
    await ledger.catchUp()
    expect(readTranscript(ledger.db, id)).toEqual({
      call_id: id,
      job_id: "job_2Kn7wR4pM",
      status: "completed",
      language: "hi-IN",
      duration_seconds: 142,
      transcript: [
        { speaker: "agent", text: "Namaste, Priya ji.", start_time: 0.4, end_time: 5.1, confidence: 0.97 },
        { speaker: "customer", text: "Haan, bataiye.", start_time: 5.9, end_time: 7.2, confidence: 0.95 },
        { speaker: "agent", text: "Aapka loan renewal ka time aa gaya hai.", start_time: 7.6, end_time: 13.0, confidence: 0.96 },
        { speaker: "customer", text: "Please mujhe connect karein.", start_time: 13.5, end_time: 18.2, confidence: null }
      ],
      summary: "Customer expressed interest in loan renewal and requested escalation to a human agent.",
      sentiment: { overall: 0.42, by_speaker: { agent: 0.65, customer: 0.38 } }
    })
  })

  it("takes the language speech-to-text detected, and has no sentiment when none was scored", async () => {
    const id = "cal_tr2"
    await ledger.send(
      dial(id, t0, { language: null }),
      answer(id, after(t0, 2)),
      transcript(id, after(t0, 30), [{ speaker: "agent", text: "Vanakkam", startTime: 0, endTime: 2.6, confidence: 0.9 }], true, "ta-IN")
    )
    await ledger.catchUp()
    expect(readTranscript(ledger.db, id)).toMatchObject({
      status: "completed", language: "ta-IN", job_id: null, summary: null, sentiment: null,
      // Not ended yet: the end of the last segment, rounded.
      duration_seconds: 3
    })
  })
})

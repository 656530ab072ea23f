import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CallView } from "../../src/projections/callViewSchema.js"
import { recountCalls } from "../../src/projections/callCounts.js"
import { readCallStats } from "../../src/projections/callStats.js"
import { callViewProjection, InvalidCallQuery, listCalls, readCallView, readCallViews, readStoredCallView } from "../../src/projections/callView.js"
import type { CallListQuery } from "../../src/projections/callView.js"
import {
  after, answer, dial, disposition, end, generateCalls, makeLedger, mergeMetadata, metrics, openRunner, recording, send,
  telephony, transcript, transfer
} from "./callScenarios.js"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"

const t0 = "2024-02-01T09:14:03Z"

describe("call view: lifecycles", () => {
  let ledger: Awaited<ReturnType<typeof makeLedger>>
  beforeAll(async () => {
    ledger = await makeLedger()
  })
  afterAll(() => ledger.close())

  it("answered, transcribed, dispositioned, enriched and ended: every field of the record", async () => {
    const id = "cal_9Hm3kP7qZ"
    await ledger.send(
      dial(id, t0, { metadata: { appointment_date: "3rd February" } }),
      telephony(id, after(t0, 1), "initiated", 0, { callSid: "CA1234567890abcdef" }),
      telephony(id, after(t0, 2), "ringing", 1),
      telephony(id, after(t0, 5), "in-progress", 2, { answeredBy: "human" }),
      transcript(id, after(t0, 60), [{ speaker: "agent", text: "Namaste", startTime: 0.4, endTime: 5.1, confidence: 0.97 }], false, "hi-IN", "job_2Kn7wR4pM"),
      transcript(id, after(t0, 147), [{ speaker: "customer", text: "Haan", startTime: 5.9, endTime: 7.2, confidence: 0.95 }], true),
      disposition(id, after(t0, 148), {
        disposition: "escalated",
        sentiment: "positive",
        sentimentScore: { overall: 0.42, bySpeaker: { agent: 0.65, customer: 0.38 } },
        summary: "Customer asked for a human agent.",
        keyDetails: { extraction: { outcome: { call_outcome: "warm_transfer" } } }
      }),
      mergeMetadata(id, after(t0, 149), { extraction: { next_action: { type: "callback" } }, qms_scores: { opening: 3 } }),
      metrics(id, after(t0, 150), {
        cost: 1.25,
        latency: { transcriberMs: 120, agentMs: 640, synthesizerMs: 90 },
        providerUsage: { stt: "deepgram", llm: "gpt-4o-mini" }
      }),
      recording(id, after(t0, 151)),
      telephony(id, after(t0, 147), "completed", 3, { durationSeconds: 142 })
    )
    await ledger.catchUp()
    const events = await Effect.runPromise(ledger.store.readStream(`call-${id}`))
    const last = events[events.length - 1]!
    const view = readCallView(ledger.db, id)
    expect(view).toEqual({
      id,
      campaign_id: "cmp_a",
      agent_id: "agt_1",
      agent_name: "Aria",
      script_id: "scr_1",
      contact: { id: "cst_1", phone: "+919876543210", name: "Priya Sharma" },
      direction: "outbound",
      call_type: "telephony_outbound",
      from_number: "+15550010000",
      to_number: "+919876543210",
      call_sid: "CA1234567890abcdef",
      status: "completed",
      disposition: "escalated",
      outcome: "connected",
      sentiment: "positive",
      sentiment_score: { overall: 0.42, by_speaker: { agent: 0.65, customer: 0.38 } },
      language: "hi-IN",
      duration_seconds: 142,
      started_at: "2024-02-01T09:14:03.000Z",
      answered_at: "2024-02-01T09:14:08.000Z",
      ended_at: "2024-02-01T09:16:30.000Z",
      summary: "Customer asked for a human agent.",
      disconnection_reason: "user_hangup",
      error_reason: null,
      transfer: null,
      transcript_job_id: "job_2Kn7wR4pM",
      has_recording: true,
      metadata: { appointment_date: "3rd February" },
      key_details: {
        extraction: { outcome: { call_outcome: "warm_transfer" }, next_action: { type: "callback" } },
        qms_scores: { opening: 3 }
      },
      cost: 1.25,
      latency: { average_transcriber_latency: 120, average_agent_latency: 640, average_synthesizer_latency: 90 },
      provider_usage: { stt: "deepgram", llm: "gpt-4o-mini" },
      revision: Number(last.revision),
      updated_at: last.metadata.recordedAt
    } satisfies CallView)
    expect(readCallView(ledger.db, "cal_unknown")).toBeNull()
  })

  it("a call nobody answers ends no_answer with duration 0 and no answer time", async () => {
    const id = "cal_noanswer"
    await ledger.send(
      dial(id, t0),
      telephony(id, after(t0, 1), "initiated", 0),
      telephony(id, after(t0, 2), "ringing", 1),
      telephony(id, after(t0, 32), "no-answer", 2)
    )
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)).toMatchObject({
      status: "no_answer",
      outcome: "no-answer",
      disconnection_reason: "dial_no_answer",
      duration_seconds: 0,
      answered_at: null,
      ended_at: "2024-02-01T09:14:35.000Z",
      disposition: null,
      has_recording: false
    })
  })

  it("a call an answering machine takes ends as voicemail", async () => {
    const id = "cal_voicemail"
    await ledger.send(dial(id, t0), answer(id, after(t0, 4), "machine"), end(id, after(t0, 34), "agent_hangup"))
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)).toMatchObject({
      status: "completed",
      outcome: "voicemail",
      disconnection_reason: "agent_hangup",
      duration_seconds: 30
    })
  })

  it("a transferred call shows the transfer and ends transferred", async () => {
    const id = "cal_transfer"
    await ledger.send(
      dial(id, t0),
      answer(id, after(t0, 3)),
      transfer(id, after(t0, 90), "sales_specialist", "Standing Desk Pro, $850", { intent_score: 88 }),
      end(id, after(t0, 95), "transferred")
    )
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)).toMatchObject({
      status: "completed",
      outcome: "connected",
      disconnection_reason: "transferred",
      duration_seconds: 92,
      transfer: {
        target: "sales_specialist",
        agent_brief: "Standing Desk Pro, $850",
        context: { intent_score: 88 },
        at: "2024-02-01T09:15:33.000Z"
      }
    })
  })

  it("an outcome set by a disposition survives the outcome the end derives", async () => {
    const id = "cal_override"
    await ledger.send(
      dial(id, t0),
      answer(id, after(t0, 3)),
      disposition(id, after(t0, 20), { outcome: "voicemail" }),
      end(id, after(t0, 21), "agent_hangup")
    )
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)).toMatchObject({ status: "completed", outcome: "voicemail" })
  })

  it("live statuses follow the telephony callbacks", async () => {
    const id = "cal_live"
    await ledger.send(dial(id, t0))
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)?.status).toBe("queued")
    await ledger.send(telephony(id, after(t0, 1), "initiated", 0), telephony(id, after(t0, 2), "ringing", 1))
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)?.status).toBe("ringing")
    await ledger.send(telephony(id, after(t0, 3), "in-progress", 2))
    await ledger.catchUp()
    expect(readCallView(ledger.db, id)).toMatchObject({ status: "in_progress", answered_at: "2024-02-01T09:14:06.000Z", ended_at: null })
  })

  it("readCallViews returns known calls in the order asked, without unknown ids or repeats", () => {
    const views = readCallViews(ledger.db, ["cal_transfer", "cal_nope", "cal_noanswer", "cal_transfer"])
    expect(views.map((v) => v.id)).toEqual(["cal_transfer", "cal_noanswer"])
    expect(readCallViews(ledger.db, [])).toEqual([])
  })
})

describe("call view: filters and pagination", () => {
  let ledger: Awaited<ReturnType<typeof makeLedger>>
  let all: Array<CallView>
  beforeAll(async () => {
    ledger = await makeLedger()
    await ledger.send(...generateCalls(300))
    await ledger.catchUp()
    all = (ledger.db.prepare("SELECT doc FROM calls").all() as Array<{ doc: string }>).map((r) => JSON.parse(r.doc) as CallView)
  })
  afterAll(() => ledger.close())

  const newestFirst = (a: CallView, b: CallView): number =>
    a.started_at === b.started_at ? (a.id < b.id ? 1 : -1) : a.started_at < b.started_at ? 1 : -1

  /** Every page of `query` by offset, 100 at a time. */
  const pageByOffset = (query: CallListQuery): { ids: Array<string>; total: number } => {
    const ids: Array<string> = []
    let total = -1
    for (let offset = 0; ; offset += 100) {
      const page = listCalls(ledger.db, { ...query, limit: 100, offset })
      total = page.total
      ids.push(...page.data.map((c) => c.id))
      expect(page.has_more).toBe(offset + page.data.length < page.total)
      if (!page.has_more) return { ids, total }
    }
  }

  const cases: ReadonlyArray<[string, CallListQuery, (c: CallView) => boolean]> = [
    ["no filter", {}, () => true],
    ["campaignId", { campaignId: "cmp_b" }, (c) => c.campaign_id === "cmp_b"],
    ["agentId", { agentId: "agt_2" }, (c) => c.agent_id === "agt_2"],
    ["contactId", { contactId: "cst_3" }, (c) => c.contact.id === "cst_3"],
    ["direction", { direction: "inbound" }, (c) => c.direction === "inbound"],
    ["callType", { callType: "web" }, (c) => c.call_type === "web"],
    ["status", { status: "no_answer" }, (c) => c.status === "no_answer"],
    ["status in_progress", { status: "in_progress" }, (c) => c.status === "in_progress"],
    ["outcome", { outcome: "voicemail" }, (c) => c.outcome === "voicemail"],
    ["disposition", { disposition: "interested" }, (c) => c.disposition === "interested"],
    ["sentiment", { sentiment: "negative" }, (c) => c.sentiment === "negative"],
    ["language, any case", { language: "EN-in" }, (c) => c.language?.toLowerCase() === "en-in"],
    ["startedFrom/startedTo inclusive", { startedFrom: "2024-03-02T06:00:00Z", startedTo: "2024-03-03T18:30:00.000Z" },
      (c) => c.started_at >= "2024-03-02T06:00:00.000Z" && c.started_at <= "2024-03-03T18:30:00.000Z"],
    ["startedFrom only", { startedFrom: "2024-03-02T06:00:00Z" }, (c) => c.started_at >= "2024-03-02T06:00:00.000Z"],
    ["startedTo only", { startedTo: "2024-03-02T06:00:00Z" }, (c) => c.started_at <= "2024-03-02T06:00:00.000Z"],
    ["startedFrom/startedTo within a day", { startedFrom: "2024-03-02T06:00:00Z", startedTo: "2024-03-02T18:00:00Z" },
      (c) => c.started_at >= "2024-03-02T06:00:00.000Z" && c.started_at <= "2024-03-02T18:00:00.000Z"],
    ["startedFrom/startedTo, whole days", { startedFrom: "2024-03-02T00:00:00Z", startedTo: "2024-03-03T23:59:59.999Z" },
      (c) => c.started_at >= "2024-03-02T00:00:00.000Z" && c.started_at <= "2024-03-03T23:59:59.999Z"],
    ["startedFrom/startedTo, one whole day", { startedFrom: "2024-03-02T00:00:00Z", startedTo: "2024-03-02T23:59:59.999Z" },
      (c) => c.started_at.startsWith("2024-03-02")],
    ["startedFrom/startedTo, a whole first day, a partial last", { startedFrom: "2024-03-02T00:00:00Z", startedTo: "2024-03-04T05:00:00Z" },
      (c) => c.started_at >= "2024-03-02T00:00:00.000Z" && c.started_at <= "2024-03-04T05:00:00.000Z"],
    ["startedFrom/startedTo, a partial first day, a whole last", { startedFrom: "2024-03-01T20:00:00Z", startedTo: "2024-03-03T23:59:59.999Z" },
      (c) => c.started_at >= "2024-03-01T20:00:00.000Z" && c.started_at <= "2024-03-03T23:59:59.999Z"],
    ["startedFrom a day's start only", { startedFrom: "2024-03-03T00:00:00Z" }, (c) => c.started_at >= "2024-03-03"],
    ["search by number substring", { search: "5555" }, (c) => (c.from_number ?? "").includes("5555") || (c.to_number ?? "").includes("5555") || c.id.includes("5555")],
    ["search by exact id", { search: "cal_g0042" }, (c) => c.id.includes("cal_g0042")],
    ["search in any case", { search: "CAL_G004" }, (c) => c.id.includes("cal_g004")],
    ["search shorter than a trigram", { search: "42" }, (c) => (c.from_number ?? "").includes("42") || (c.to_number ?? "").includes("42") || c.id.includes("42")],
    ["search with a LIKE wildcard matches literally", { search: "%" }, (c) => c.id.includes("%")],
    ["search with a quote matches literally", { search: "a\"b" }, (c) => c.id.includes("a\"b")],
    ["duration range", { minDuration: 60, maxDuration: 200 }, (c) => c.duration_seconds >= 60 && c.duration_seconds <= 200],
    ["minDuration only", { minDuration: 100 }, (c) => c.duration_seconds >= 100],
    ["campaign and disposition", { campaignId: "cmp_a", disposition: "interested" }, (c) => c.campaign_id === "cmp_a" && c.disposition === "interested"],
    ["combined", { campaignId: "cmp_a", direction: "outbound", outcome: "connected", minDuration: 1 },
      (c) => c.campaign_id === "cmp_a" && c.direction === "outbound" && c.outcome === "connected" && c.duration_seconds >= 1]
  ]

  it.each(cases)("%s: every page by offset equals a direct filter, newest first", (_name, query, predicate) => {
    const expected = all.filter(predicate).sort(newestFirst).map((c) => c.id)
    const { ids, total } = pageByOffset(query)
    expect(total).toBe(expected.length)
    expect(ids).toEqual(expected)
  })

  it("the generated data exercise the filters (none of the interesting cases is empty)", () => {
    for (const [name, query, predicate] of cases) {
      if (name.includes("literally")) continue
      expect(all.filter(predicate).length, name).toBeGreaterThan(0)
      expect(listCalls(ledger.db, query).total, name).toBeLessThanOrEqual(all.length)
    }
    expect(all.length).toBe(300)
  })

  it("a file counted before the campaign and disposition pairs gets them counted when the projection opens", () => {
    const query: CallListQuery = { campaignId: "cmp_a", disposition: "interested" }
    const expected = listCalls(ledger.db, query).total
    expect(expected).toBeGreaterThan(0)
    ledger.db.exec("DELETE FROM call_counts WHERE dimension IN ('#', 'campaign_id+disposition')")
    expect(listCalls(ledger.db, query).total).toBe(0)
    callViewProjection(ledger.db)
    expect(listCalls(ledger.db, query).total).toBe(expected)
  })

  it("the counts the projection keeps call by call equal a recount from the rows", () => {
    const counts = () => ledger.db.prepare("SELECT dimension, value, calls FROM call_counts ORDER BY dimension, value").all()
    const kept = counts()
    expect(kept).toContainEqual({ dimension: "*", value: "", calls: 300 })
    recountCalls(ledger.db)
    expect(counts()).toEqual(kept)
  })

  it("limit defaults to 20 and offset to 0; total counts the filter, not the page", () => {
    const page = listCalls(ledger.db, { campaignId: "cmp_c" })
    const expected = all.filter((c) => c.campaign_id === "cmp_c").sort(newestFirst)
    expect(page.data.map((c) => c.id)).toEqual(expected.slice(0, 20).map((c) => c.id))
    expect(page.total).toBe(expected.length)
  })

  it.each([
    ["no filter", {}, () => true],
    ["outbound", { direction: "outbound" }, (c: CallView) => c.direction === "outbound"],
    ["started range", { startedFrom: "2024-03-02T06:00:00Z", startedTo: "2024-03-03T18:30:00Z" },
      (c: CallView) => c.started_at >= "2024-03-02T06:00:00.000Z" && c.started_at <= "2024-03-03T18:30:00.000Z"]
  ] as const)("cursor pagination (%s) walks every call exactly once, in order", (_name, filter, predicate) => {
    const expected = all.filter(predicate).sort(newestFirst).map((c) => c.id)
    const ids: Array<string> = []
    let cursor: string | undefined
    for (;;) {
      const page: ReturnType<typeof listCalls> = listCalls(ledger.db, { ...filter, limit: 7, cursor })
      expect(page.total).toBe(expected.length)
      ids.push(...page.data.map((c) => c.id))
      if (!page.has_more) {
        expect(page.next_cursor).toBeNull()
        break
      }
      cursor = page.next_cursor!
    }
    expect(ids).toEqual(expected)
  })

  it("a cursor stays correct when newer calls arrive between pages, where offset would repeat calls", async () => {
    const query: CallListQuery = { campaignId: "cmp_b", limit: 10 }
    const expected = all.filter((c) => c.campaign_id === "cmp_b").sort(newestFirst).map((c) => c.id)
    const first = listCalls(ledger.db, query)
    expect(first.data.map((c) => c.id)).toEqual(expected.slice(0, 10))
    // Three newer calls of the same campaign arrive before the client asks for page 2.
    await ledger.send(
      dial("cal_new1", "2024-03-09T10:00:00Z", { campaignId: "cmp_b" }),
      dial("cal_new2", "2024-03-09T11:00:00Z", { campaignId: "cmp_b" }),
      dial("cal_new3", "2024-03-09T12:00:00Z", { campaignId: "cmp_b" })
    )
    await ledger.catchUp()
    const second = listCalls(ledger.db, { ...query, cursor: first.next_cursor! })
    expect(second.data.map((c) => c.id)).toEqual(expected.slice(10, 20))
    expect(second.total).toBe(expected.length + 3)
    const byOffset = listCalls(ledger.db, { ...query, offset: 10 })
    expect(byOffset.data.map((c) => c.id).slice(0, 3)).toEqual(expected.slice(7, 10))
  })

  it("rejects a limit outside 1..100, a negative offset, a bad instant and a forged cursor", () => {
    expect(() => listCalls(ledger.db, { limit: 0 })).toThrow(InvalidCallQuery)
    expect(() => listCalls(ledger.db, { limit: 101 })).toThrow(InvalidCallQuery)
    expect(() => listCalls(ledger.db, { offset: -1 })).toThrow(InvalidCallQuery)
    expect(() => listCalls(ledger.db, { startedFrom: "yesterday" })).toThrow(InvalidCallQuery)
    expect(() => listCalls(ledger.db, { cursor: "not-a-cursor" })).toThrow(InvalidCallQuery)
  })

  it("uses an index for a filtered newest-first page and a covering index for its count", () => {
    const plan = (sql: string) =>
      (ledger.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all("cmp_a") as Array<{ detail: string }>).map((r) => r.detail).join("; ")
    const list = plan("SELECT doc FROM calls WHERE campaign_id = ? ORDER BY started_at DESC, id DESC LIMIT 20")
    expect(list).toContain("calls_by_campaign")
    expect(list).not.toContain("TEMP B-TREE")
    expect(plan("SELECT count(*) FROM calls WHERE campaign_id = ?")).toContain("COVERING INDEX calls_by_campaign")
  })
})

describe("call view and stats: the rows they wrote last, kept in memory", () => {
  it("a call another connection wrote since is read from the file again by the next batch", async () => {
    const ledger = await makeLedger()
    const other = await openRunner(`${ledger.dir}/ledger.db`, ledger.store)
    try {
      const id = "cal_twoWriters"
      await ledger.send(dial(id, t0), answer(id, after(t0, 3)))
      await ledger.catchUp()
      expect(readStoredCallView(ledger.db, id)?.doc).toContain('"status":"in_progress"')
      // The other connection (a second process on the file) applies the disposition first.
      await ledger.send(disposition(id, after(t0, 60), { disposition: "callback", sentiment: "positive", summary: "Asked for a callback." }))
      await Effect.runPromise(other.runner.catchUp)
      expect(JSON.parse(readStoredCallView(ledger.db, id)!.doc)).toMatchObject({ disposition: "callback", revision: 2 })
      // This connection then changes what the other wrote: it must take away the other's counts, not its own stale ones.
      await ledger.send(disposition(id, after(t0, 80), { disposition: "escalated", sentiment: "negative" }), end(id, after(t0, 90), "user_hangup"))
      await ledger.catchUp()
      // The summary only the other connection wrote survives: this one started from the file's row.
      expect(readCallView(ledger.db, id)).toMatchObject({
        disposition: "escalated", sentiment: "negative", summary: "Asked for a callback.", status: "completed", revision: 4
      })
      const stats = readCallStats(ledger.db)
      expect(stats).toMatchObject({ total_calls: 1, connected: 1, by_status: { completed: 1 }, sentiment_breakdown: { positive: 0, neutral: 0, negative: 1 } })
      expect(stats.by_disposition).toEqual({ escalated: 1 })
    } finally {
      other.db.close()
      ledger.close()
    }
  })

  it("discard forgets the rows a batch wrote and rolled back: the next batch starts from the committed row", async () => {
    const ledger = await makeLedger()
    const elsewhere = makeMemoryEventStore()
    try {
      const id = "cal_rolledBack"
      await ledger.send(dial(id, t0), answer(id, after(t0, 3)))
      await ledger.catchUp()
      // A disposition of the same call from another log: applied and written, then rolled back.
      await send(elsewhere, dial(id, t0), answer(id, after(t0, 3)), disposition(id, after(t0, 60), { disposition: "callback" }))
      const [disposed] = await Effect.runPromise(elsewhere.readStream(`call-${id}`, { fromRevision: 2n }))
      const view = callViewProjection(ledger.db)
      expect(() =>
        ledger.db.transaction(() => {
          view.apply(disposed!)
          view.flush?.()
          throw new Error("rolled back")
        })()
      ).toThrow("rolled back")
      view.discard?.()
      // The next batch starts from the row as committed, without the disposition.
      await ledger.send(end(id, after(t0, 90), "user_hangup"))
      await ledger.catchUp()
      expect(readCallView(ledger.db, id)).toMatchObject({ status: "completed", disposition: null, revision: 2 })
    } finally {
      ledger.close()
    }
  })
})

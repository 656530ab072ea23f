import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { countLiveTransfers, readLiveCalls } from "../../src/projections/liveCalls.js"
import { after, answer, dial, end, makeLedger, telephony, transfer } from "./callScenarios.js"

const t0 = "2024-05-12T14:32:01Z"

describe("live calls", () => {
  let ledger: Awaited<ReturnType<typeof makeLedger>>
  beforeAll(async () => {
    ledger = await makeLedger()
    await ledger.send(
      dial("cal_queued", after(t0, 0)),
      dial("cal_ringing", after(t0, 10)),
      telephony("cal_ringing", after(t0, 11), "ringing", 1),
      dial("cal_talking_in", after(t0, 20), { direction: "inbound", callType: "telephony_inbound", status: "initiated" }),
      answer("cal_talking_in", after(t0, 22)),
      dial("cal_ended", after(t0, 30)),
      answer("cal_ended", after(t0, 31)),
      end("cal_ended", after(t0, 90), "user_hangup"),
      dial("cal_noanswer_in", after(t0, 40), { direction: "inbound", callType: "telephony_inbound", status: "initiated" }),
      telephony("cal_noanswer_in", after(t0, 70), "no-answer", 1),
      dial("cal_initiated_in", after(t0, 50), { direction: "inbound", callType: "telephony_inbound", status: "initiated" })
    )
    await ledger.catchUp()
  })
  afterAll(() => ledger.close())

  it("lists calls not yet ended, newest first, with their live status", () => {
    expect(readLiveCalls(ledger.db).map((c) => [c.id, c.status])).toEqual([
      ["cal_initiated_in", "initiated"],
      ["cal_talking_in", "in_progress"],
      ["cal_ringing", "ringing"],
      ["cal_queued", "queued"]
    ])
  })

  it("filters by direction and honours a limit", () => {
    expect(readLiveCalls(ledger.db, { direction: "inbound" }).map((c) => c.id)).toEqual(["cal_initiated_in", "cal_talking_in"])
    expect(readLiveCalls(ledger.db, { direction: "outbound", limit: 1 }).map((c) => c.id)).toEqual(["cal_ringing"])
  })

  it("drops a call once it ends", async () => {
    await ledger.send(end("cal_talking_in", after(t0, 200), "agent_hangup"))
    await ledger.catchUp()
    expect(readLiveCalls(ledger.db, { direction: "inbound" }).map((c) => c.id)).toEqual(["cal_initiated_in"])
  })

  it("counts live calls transferred to a queue, until they end", async () => {
    await ledger.send(
      dial("cal_tr_live", after(t0, 300)),
      answer("cal_tr_live", after(t0, 302)),
      transfer("cal_tr_live", after(t0, 330), "sales_specialist", "ready to buy", {}),
      dial("cal_tr_done", after(t0, 400)),
      answer("cal_tr_done", after(t0, 402)),
      transfer("cal_tr_done", after(t0, 430), "sales_specialist", "ready to buy", {}),
      end("cal_tr_done", after(t0, 431), "transferred")
    )
    await ledger.catchUp()
    expect(countLiveTransfers(ledger.db, "sales_specialist")).toBe(1)
    expect(countLiveTransfers(ledger.db, "support_team")).toBe(0)
    await ledger.send(end("cal_tr_live", after(t0, 500), "transferred"))
    await ledger.catchUp()
    expect(countLiveTransfers(ledger.db, "sales_specialist")).toBe(0)
  })

  it("reads only the partial index of live calls, even with planner statistics that favour a scan", () => {
    ledger.db.exec("ANALYZE")
    const plan = (ledger.db.prepare(
      `EXPLAIN QUERY PLAN SELECT doc FROM calls INDEXED BY calls_live WHERE status IN ('queued', 'initiated', 'ringing', 'in_progress')
       AND (@direction IS NULL OR direction = @direction) ORDER BY started_at DESC, id DESC LIMIT @limit`
    ).all({ direction: null, limit: 10 }) as Array<{ detail: string }>).map((r) => r.detail).join("; ")
    expect(plan).toContain("calls_live")
    expect(plan).not.toContain("TEMP B-TREE")
    expect(readLiveCalls(ledger.db).map((c) => c.id)).toEqual(["cal_initiated_in", "cal_ringing", "cal_queued"])
  })
})

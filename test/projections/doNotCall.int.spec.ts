import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isOnDoNotCallList, readDoNotCallList } from "../../src/projections/doNotCall.js"
import { after, answer, dial, disposition, end, makeLedger } from "./callScenarios.js"

const t0 = "2024-05-12T14:32:01Z"

describe("do-not-call list", () => {
  let ledger: Awaited<ReturnType<typeof makeLedger>>
  beforeAll(async () => {
    ledger = await makeLedger()
  })
  afterAll(() => ledger.close())

  it("adds the contact's number when a call ends with reason dnc_request", async () => {
    await ledger.send(
      dial("cal_dnc", t0, { to: "+14155550192", contact: { phone: "+14155550192", name: null, id: null } }),
      answer("cal_dnc", after(t0, 3)),
      end("cal_dnc", after(t0, 40), "dnc_request")
    )
    await ledger.catchUp()
    expect(isOnDoNotCallList(ledger.db, "+14155550192")).toBe(true)
    expect(readDoNotCallList(ledger.db)).toEqual([
      { phone: "+14155550192", added_at: "2024-05-12T14:32:41.000Z", call_id: "cal_dnc", reason: "dnc_request" }
    ])
  })

  it("adds the caller's number of an inbound call dispositioned dnd, keeping the first entry for a number", async () => {
    const caller = "+919812345678"
    await ledger.send(
      dial("cal_dnd_in", after(t0, 100), {
        direction: "inbound", callType: "telephony_inbound", status: "initiated", from: caller, to: "+15550010000",
        contact: { phone: caller, name: "Ravi", id: "cst_9" }
      }),
      answer("cal_dnd_in", after(t0, 101)),
      disposition("cal_dnd_in", after(t0, 150), { disposition: "dnd" }),
      end("cal_dnd_in", after(t0, 151), "dnc_request")
    )
    await ledger.catchUp()
    expect(isOnDoNotCallList(ledger.db, caller)).toBe(true)
    expect(readDoNotCallList(ledger.db).find((e) => e.phone === caller)).toEqual({
      phone: caller, added_at: "2024-05-12T14:34:31.000Z", call_id: "cal_dnd_in", reason: "dnd"
    })
  })

  it("leaves other numbers off the list", async () => {
    await ledger.send(
      dial("cal_ok", after(t0, 200), { to: "+14155550000", contact: { phone: "+14155550000", name: null, id: null } }),
      answer("cal_ok", after(t0, 201)),
      disposition("cal_ok", after(t0, 230), { disposition: "not_interested" }),
      end("cal_ok", after(t0, 231), "user_hangup")
    )
    await ledger.catchUp()
    expect(isOnDoNotCallList(ledger.db, "+14155550000")).toBe(false)
    expect(readDoNotCallList(ledger.db).map((e) => e.phone)).toEqual(["+14155550192", "+919812345678"])
  })
})

import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { openCallLedger } from "../../src/index.js"
import type { CallCommand } from "../../src/index.js"

const callId = "cal_libraryUser1"
const at = (s: number) => new Date(Date.parse("2026-03-01T10:00:00.000Z") + s * 1000).toISOString()
const dial: CallCommand = {
  type: "DialCall", commandId: "cmd-dial", callId, at: at(0), direction: "outbound", callType: "telephony_outbound",
  status: "queued", from: "+15550010000", to: "+919876543210", contact: { phone: "+919876543210", name: "Priya Sharma", id: null },
  campaignId: "cmp_lib", agentId: null, agentName: null, scriptId: null, language: "hi-IN", metadata: {}, provider: "twilio", callSid: null
}

describe("openCallLedger (the library without Effect)", () => {
  it("records a call, answers queries, refuses an illegal transition and keeps everything across a reopen", async () => {
    const databasePath = join(mkdtempSync(join(tmpdir(), "call-ledger-lib-")), "ledger.db")
    const ledger = await openCallLedger({ databasePath })
    await ledger.execute(dial)
    await ledger.execute({ type: "AnswerCall", commandId: "cmd-answer", callId, at: at(5), answeredBy: "human" })
    const ended = await ledger.execute({
      type: "EndCall", commandId: "cmd-end", callId, at: at(65), reason: "agent_hangup", status: null, outcome: null,
      durationSeconds: null, errorReason: null
    })
    expect(ended.events.map((e) => e.type)).toEqual(["CallEnded"])
    expect(await ledger.getCall(callId)).toMatchObject({ status: "completed", outcome: "connected", duration_seconds: 60 })
    expect((await ledger.listCalls({ campaignId: "cmp_lib" })).total).toBe(1)
    await expect(ledger.execute({ type: "AnswerCall", commandId: "cmd-late", callId, at: at(70), answeredBy: "human" }))
      .rejects.toMatchObject({ _tag: "CallAlreadyEnded" })
    expect((await ledger.callHistory(callId))?.map((e) => e.type)).toEqual(["CallDialed", "CallAnswered", "CallEnded"])
    await ledger.close()

    const reopened = await openCallLedger({ databasePath })
    expect(await reopened.getCall(callId)).toMatchObject({ status: "completed", revision: 2 })
    expect(await reopened.stats({ campaignId: "cmp_lib" })).toMatchObject({ total_calls: 1, connected: 1 })
    await reopened.close()
  })
})

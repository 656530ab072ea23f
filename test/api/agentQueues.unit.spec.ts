/** `LEDGER_AGENT_QUEUES` (`sales_specialist=2,support_team=0`): queue names and their agent counts. */
import { describe, expect, it } from "vitest"
import { defaultAgentQueues, parseAgentQueues } from "../../src/api/agentQueues.js"

describe("parseAgentQueues", () => {
  it("reads names and agent counts, spaces and empty entries aside", () => {
    expect(parseAgentQueues("sales_specialist=2,support_team=0")).toEqual({ sales_specialist: { agents: 2 }, support_team: { agents: 0 } })
    expect(parseAgentQueues(" billing = 5 ,, ")).toEqual({ billing: { agents: 5 } })
    expect(parseAgentQueues("")).toEqual({})
  })

  it("refuses a bad name or count, naming the entry", () => {
    expect(() => parseAgentQueues("sales specialist=2")).toThrow(/sales specialist/)
    expect(() => parseAgentQueues("sales=two")).toThrow(/sales/)
    expect(() => parseAgentQueues("sales=-1")).toThrow(/whole number/)
    expect(() => parseAgentQueues("sales=1.5")).toThrow(/whole number/)
    expect(() => parseAgentQueues("sales")).toThrow(/whole number/)
    expect(() => parseAgentQueues("sales=1=2")).toThrow(/whole number/)
  })

  it("defaults to seed 002's two queues", () => {
    expect(Object.keys(defaultAgentQueues)).toEqual(["sales_specialist", "support_team"])
  })
})

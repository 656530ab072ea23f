/**
 * `simulate` as a user runs it, against the real service: every simulated call's `call.completed`
 * webhook is received and verified, none missing or rejected, no request failed; and
 * `GET /v1/calls/stats` agrees with the outcomes the simulation drove.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runSimulation } from "../../src/cli/simulate/runSimulation.js"
import { expectStatus } from "../fixtures/callDriver.js"
import { ledgerClient } from "../fixtures/ledgerClient.js"
import { runCli } from "../fixtures/ledgerProcess.js"
import { startLedgerServer, testTwilioAuthToken } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"

const servers: Array<LedgerServer> = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop()
})

const start = async () => {
  const server = await startLedgerServer()
  servers.push(server)
  return server
}

interface Outcomes {
  readonly connected: number
  readonly voicemail: number
  readonly "no-answer": number
  readonly failed: number
}

/** The service's stats and call list agree with the simulated outcomes. */
const expectStatsMatch = async (server: LedgerServer, calls: number, outcomes: Outcomes) => {
  const api = ledgerClient(server.url, testTwilioAuthToken)
  const stats = expectStatus(await api.get("/v1/calls/stats"), 200, "stats")
  expect(stats).toEqual(expect.objectContaining({
    total_calls: calls,
    connected: outcomes.connected,
    voicemail: outcomes.voicemail,
    no_answer: outcomes["no-answer"],
    failed: outcomes.failed,
    connect_rate: Math.round((outcomes.connected / calls) * 100) / 100
  }))
  const byOutcome = stats.sentiment_breakdown.positive + stats.sentiment_breakdown.neutral + stats.sentiment_breakdown.negative
  expect(byOutcome, "a sentiment for every answered call").toBe(outcomes.connected + outcomes.voicemail)
  const today = new Date().toISOString().slice(0, 10)
  const ranged = expectStatus(await api.get(`/v1/calls/stats?date_from=${today}&date_to=${today}`), 200, "stats today")
  expect(ranged.total_calls).toBe(calls)
  expect(expectStatus(await api.get("/v1/calls?limit=1"), 200, "list").total).toBe(calls)
  expect(expectStatus(await api.get("/v1/calls/live"), 200, "live").total, "no call left live").toBe(0)
  for (const [outcome, count] of Object.entries(outcomes)) {
    expect(expectStatus(await api.get(`/v1/calls?outcome=${outcome}&limit=1`), 200, "list").total, outcome).toBe(count)
  }
}

describe("call-ledger simulate", () => {
  it("runSimulation: 30 calls, every webhook received and verified, stats match the outcomes", async () => {
    const server = await start()
    const summary = await runSimulation({
      url: server.url,
      calls: 30,
      seed: 7,
      concurrency: 8,
      twilioAuthToken: testTwilioAuthToken,
      webhookTimeoutMillis: 20_000
    })
    expect(summary.failedRequests).toBe(0)
    expect(summary.calls).toBe(30)
    const { connected, voicemail, failed } = summary.outcomes
    expect(connected + voicemail + summary.outcomes["no-answer"] + failed).toBe(30)
    expect(summary.webhooks).toEqual(expect.objectContaining({ expected: 30, received: 30, rejected: 0, missing: 0 }))
    expect(summary.webhooks.verified).toBeGreaterThanOrEqual(30)
    // The calls' streams hold exactly what the simulation saw appended: duplicate and late callbacks added nothing.
    const page = expectStatus(await ledgerClient(server.url, testTwilioAuthToken).get("/v1/calls?limit=100"), 200, "list")
    const callEvents = (page.data as Array<{ revision: number }>).reduce((sum, call) => sum + call.revision + 1, 0)
    expect(callEvents).toBe(summary.eventsAppended)
    await expectStatsMatch(server, 30, summary.outcomes)
  })

  it("the CLI: `simulate --calls 30` prints a summary with every webhook verified and exits 0", async () => {
    const server = await start()
    const cli = runCli(["simulate", "--url", server.url, "--calls", "30", "--seed", "11", "--twilio-auth-token", testTwilioAuthToken])
    const exit = await cli.exited
    const output = cli.output()
    expect(exit, output).toBe(0)
    const calls = /calls:\s+(\d+) \(connected (\d+), voicemail (\d+), no-answer (\d+), failed (\d+)\)/.exec(output)
    expect(calls, output).not.toBeNull()
    const [, total, connected, voicemail, noAnswer, failed] = calls!.map(Number)
    expect(total).toBe(30)
    const webhooks = /webhooks:\s+(\d+)\/(\d+) call\.completed received and verified \((\d+) verified requests, (\d+) rejected, (\d+) repeats, (\d+) missing\)/.exec(output)
    expect(webhooks, output).not.toBeNull()
    const [, received, expected, , rejected, , missing] = webhooks!.map(Number)
    expect({ received, expected, rejected, missing }).toEqual({ received: 30, expected: 30, rejected: 0, missing: 0 })
    await expectStatsMatch(server, 30, { connected: connected!, voicemail: voicemail!, "no-answer": noAnswer!, failed: failed! })
  }, 60_000)
})

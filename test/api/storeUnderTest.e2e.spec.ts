import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startLedgerServer } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"

let server: LedgerServer
beforeAll(async () => {
  server = await startLedgerServer()
})
afterAll(() => server?.stop())

describe("the store under test", () => {
  it("is the one the test project names (sqlite, or EventStoreDB over gRPC for the esdb project)", async () => {
    const expected = process.env["LEDGER_TEST_STORE"] === "esdb" ? /^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/ : /^sqlite$/
    expect(server.config.store).toMatch(expected)
    const created = await fetch(`${server.url}/v1/calls`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: "+919876543210" })
    })
    expect(created.status).toBe(201)
  })
})

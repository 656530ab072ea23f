/**
 * Which scope and rate-limit class each endpoint has, read from the API definition: the rules of
 * issue 5 (GETs of calls need voice:calls:read, writes voice:calls:write, webhook management
 * webhooks:write; Twilio, recordings and health are public) and seed 002's limits.
 */
import { describe, expect, it } from "vitest"
import { CallLedgerApi } from "../../src/api/callsApi.js"
import { endpointAccess } from "../../src/api/endpointAccess.js"

const rules = endpointAccess(CallLedgerApi)
const rule = (method: string, path: string) => {
  const found = rules.find((r) => r.method === method && r.path === path)
  if (found === undefined) throw new Error(`no endpoint ${method} ${path}`)
  return found
}

describe("endpoint access", () => {
  it("GETs of calls need voice:calls:read", () => {
    const gets = rules.filter((r) => r.group === "calls" && r.method === "GET")
    expect(gets.length).toBeGreaterThanOrEqual(5)
    for (const r of gets) expect(r.scope, r.path).toBe("voice:calls:read")
  })

  it("creating calls, reporting events and live control need voice:calls:write", () => {
    for (const path of ["/v1/calls", "/v1/calls/:id/events"]) expect(rule("POST", path).scope).toBe("voice:calls:write")
    for (const r of rules.filter((r) => r.group === "calls" && /\/(metadata|transfer|end|batch)$/.test(r.path) && r.method === "POST")) {
      expect(r.scope, r.path).toBe("voice:calls:write")
    }
  })

  it("webhook endpoint management needs webhooks:write", () => {
    const hooks = rules.filter((r) => r.path.startsWith("/v1/webhooks/"))
    expect(hooks.length).toBeGreaterThanOrEqual(4)
    for (const r of hooks) expect(r.scope, `${r.method} ${r.path}`).toBe("webhooks:write")
  })

  it("the Twilio callback, recordings and health need no key", () => {
    expect(rule("POST", "/v1/telephony/twilio/status").scope).toBeNull()
    expect(rule("GET", "/health").scope).toBeNull()
    for (const r of rules.filter((r) => r.path.endsWith("/recording"))) expect(r.scope).toBeNull()
    for (const r of rules.filter((r) => r.scope === null)) expect(["telephony", "recordings", "health"]).toContain(r.group)
  })

  it("seed 002's rate-limited routes have their class", () => {
    expect(rule("POST", "/v1/calls").rateLimitClass).toBe("create")
    const byPath = (suffix: string) => rules.find((r) => r.path.endsWith(suffix))
    if (byPath("/metadata") !== undefined) expect(byPath("/metadata")!.rateLimitClass).toBe("metadata")
    if (byPath("/transfer") !== undefined) expect(byPath("/transfer")!.rateLimitClass).toBe("transfer")
    if (byPath("/end") !== undefined) expect(byPath("/end")!.rateLimitClass).toBe("end")
    if (byPath("/agent-availability") !== undefined) expect(byPath("/agent-availability")!.rateLimitClass).toBe("agentAvailability")
    expect(rule("GET", "/v1/calls").rateLimitClass).toBeNull()
  })
})

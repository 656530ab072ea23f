/** The token bucket behind the per-key rate limits, and the `LEDGER_RATE_LIMITS` setting. */
import { describe, expect, it } from "vitest"
import { makeRateLimiter } from "../../src/api/rateLimiter.js"
import { defaultRateLimits, parseRateLimits } from "../../src/api/rateLimits.js"

describe("rate limiter", () => {
  it("allows a burst of the limit, then one request per 60/limit seconds", () => {
    const limiter = makeRateLimiter()
    const t0 = 1_000_000
    for (let i = 0; i < 10; i++) expect(limiter.take("k", 10, t0).allowed).toBe(true)
    const refused = limiter.take("k", 10, t0)
    expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 6 })
    expect(limiter.take("k", 10, t0 + 3_000)).toMatchObject({ allowed: false, retryAfterSeconds: 3 })
    expect(limiter.take("k", 10, t0 + 6_000)).toMatchObject({ allowed: true, remaining: 0 })
    expect(limiter.take("k", 10, t0 + 6_000).allowed).toBe(false)
    // A full minute later the bucket is full again, never fuller.
    expect(limiter.take("k", 10, t0 + 600_000)).toMatchObject({ allowed: true, remaining: 9 })
  })

  it("keeps one bucket per key", () => {
    const limiter = makeRateLimiter()
    expect(limiter.take("a", 1, 0).allowed).toBe(true)
    expect(limiter.take("a", 1, 0)).toMatchObject({ allowed: false, retryAfterSeconds: 60 })
    expect(limiter.take("b", 1, 0).allowed).toBe(true)
  })
})

describe("LEDGER_RATE_LIMITS", () => {
  it("defaults to seed 002's limits", () => {
    expect(defaultRateLimits).toEqual({ create: 30, metadata: 30, agentAvailability: 30, transfer: 10, end: 10 })
    expect(parseRateLimits("")).toEqual(defaultRateLimits)
  })

  it("sets the classes it names", () => {
    expect(parseRateLimits("create=120, end=5")).toEqual({ ...defaultRateLimits, create: 120, end: 5 })
  })

  it("refuses unknown classes and bad numbers", () => {
    expect(() => parseRateLimits("dial=3")).toThrow(/unknown rate-limit class "dial"/)
    expect(() => parseRateLimits("create=0")).toThrow(/at least 1/)
    expect(() => parseRateLimits("create=ten")).toThrow(/whole number/)
  })
})

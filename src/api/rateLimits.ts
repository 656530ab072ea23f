/**
 * Per-key rate limits by route class (seed 002): 30 requests a minute to create a call, write
 * metadata or check agent availability; 10 a minute to transfer or end a call. An endpoint joins a
 * class with the `RateLimitClass` annotation; endpoints without one are not limited.
 */
import { Context } from "effect"

export const rateLimitClasses = ["create", "metadata", "agentAvailability", "transfer", "end"] as const
export type RateLimitClassName = (typeof rateLimitClasses)[number]

/** Requests per minute per key, by route class. */
export type RateLimits = Readonly<Record<RateLimitClassName, number>>

/** Seed 002's limits. */
export const defaultRateLimits: RateLimits = { create: 30, metadata: 30, agentAvailability: 30, transfer: 10, end: 10 }

/** Endpoint annotation: the rate-limit class an endpoint counts against. */
export class RateLimitClass extends Context.Tag("call-ledger/RateLimitClass")<RateLimitClass, RateLimitClassName>() {}

const isRateLimitClass = (value: string): value is RateLimitClassName => (rateLimitClasses as ReadonlyArray<string>).includes(value)

/**
 * Reads `create=30,transfer=10,...` (`LEDGER_RATE_LIMITS`, `--rate-limits`): the classes named are
 * set, the others keep their defaults. Throws an `Error` naming the bad entry.
 */
export const parseRateLimits = (text: string, defaults: RateLimits = defaultRateLimits): RateLimits => {
  const limits: Record<RateLimitClassName, number> = { ...defaults }
  for (const entry of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [name = "", value = ""] = entry.split("=").map((s) => s.trim())
    if (!isRateLimitClass(name)) throw new Error(`unknown rate-limit class "${name}" (one of ${rateLimitClasses.join(", ")})`)
    const perMinute = Number(value)
    if (!Number.isInteger(perMinute) || perMinute < 1) throw new Error(`rate limit of "${name}" must be a whole number of requests a minute, at least 1`)
    limits[name] = perMinute
  }
  return limits
}

/**
 * An in-memory token bucket per key (e.g. API key id and route class): `perMinute` tokens, refilled
 * continuously, so a client can burst up to the limit and then gets one request every
 * `60 / perMinute` seconds. One process only: several instances each allow the limit.
 */

export interface RateLimitDecision {
  readonly allowed: boolean
  /** Whole tokens left after this request. */
  readonly remaining: number
  /** When refused: seconds until a token is back (at least 1). */
  readonly retryAfterSeconds: number
}

export interface RateLimiter {
  /** Takes a token from `key`'s bucket of `perMinute` at `nowMillis`. */
  readonly take: (key: string, perMinute: number, nowMillis: number) => RateLimitDecision
}

interface Bucket {
  tokens: number
  updatedAt: number
  readonly perMinute: number
}

/** Buckets that refilled completely are dropped once there are more than this many. */
const sweepThreshold = 10_000

export const makeRateLimiter = (): RateLimiter => {
  const buckets = new Map<string, Bucket>()
  const sweep = (nowMillis: number) => {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + ((nowMillis - bucket.updatedAt) * bucket.perMinute) / 60_000 >= bucket.perMinute) buckets.delete(key)
    }
  }
  return {
    take: (key, perMinute, nowMillis) => {
      const perMilli = perMinute / 60_000
      const existing = buckets.get(key)
      // A changed limit starts a fresh bucket.
      const bucket = existing !== undefined && existing.perMinute === perMinute ? existing : { tokens: perMinute, updatedAt: nowMillis, perMinute }
      bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, nowMillis - bucket.updatedAt) * perMilli)
      bucket.updatedAt = nowMillis
      if (bucket !== existing) {
        if (existing === undefined && buckets.size >= sweepThreshold) sweep(nowMillis)
        buckets.set(key, bucket)
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return { allowed: true, remaining: Math.floor(bucket.tokens), retryAfterSeconds: 0 }
      }
      return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMilli / 1000)) }
    }
  }
}

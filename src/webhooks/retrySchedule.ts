/**
 * The webhook retry schedule: attempt 1 goes out at once; after a failed attempt n (counted from
 * the start of the schedule) the next one waits `schedule[n - 1]` ms, scaled by a random jitter;
 * after the last delay's attempt fails, the delivery is `failed`.
 */

/** Default delays in ms: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts over about 27.6 h, as Svix and Standard Webhooks suggest). */
export const defaultRetryScheduleMillis: ReadonlyArray<number> = [
  5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000
]

/** Default jitter: each delay is scaled by a factor drawn uniformly from [0.9, 1.1]. */
export const defaultRetryJitter = 0.1

/**
 * Delay in ms before the next attempt after `failedAttempts` failures since the schedule started,
 * or null when the schedule is exhausted. `random` is uniform in [0, 1).
 */
export const nextRetryDelay = (
  schedule: ReadonlyArray<number>,
  failedAttempts: number,
  jitter: number,
  random: () => number
): number | null => {
  const delay = schedule[failedAttempts - 1]
  if (delay === undefined) return null
  return Math.max(0, Math.round(delay * (1 + jitter * (2 * random() - 1))))
}

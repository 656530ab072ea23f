/**
 * Wakes catch-up subscriptions when an adapter appends: each append wakes every ticket taken
 * before it. Waiters also give up after a poll interval, so an append by another process (a
 * second writer on the same SQLite file) is seen too, only later.
 *
 * A ticket is the append count when it was taken: it holds nothing until its effect runs, so a
 * ticket that is never waited on (a catch-up page that found events) costs nothing. Plain
 * callbacks and one timer per waiting effect, not a `Deferred` raced with a timeout: this is on
 * every append and every dispatcher wake-up, and the forked fibers of `timeoutOption` were a
 * visible share of their CPU (`npm run bench`).
 */
import { Duration, Effect } from "effect"

export interface AppendSignal {
  /** Called by the adapter after each committed append. */
  readonly notify: () => void
  /**
   * Takes a ticket now; the returned effect resumes at once if an append came after this call,
   * else at the next append or after `timeout`. Take the ticket before reading, so an append
   * between the read and the wait is not missed. The effect may be run any number of times.
   */
  readonly ticket: (timeout: Duration.DurationInput) => Effect.Effect<void>
  /** How many ticket effects are waiting now (for diagnostics and tests). */
  readonly waiting: () => number
}

export const makeAppendSignal = (): AppendSignal => {
  let appends = 0
  let waiters = new Set<() => void>()
  return {
    notify: () => {
      appends++
      if (waiters.size === 0) return
      const woken = waiters
      waiters = new Set()
      for (const wake of woken) wake()
    },
    ticket: (timeout) => {
      const taken = appends
      const millis = Duration.toMillis(timeout)
      return Effect.async<void>((resume) => {
        if (appends !== taken) return resume(Effect.void)
        const wake = () => {
          clearTimeout(timer)
          resume(Effect.void)
        }
        // setTimeout fires at once for delays past 2^31-1 ms: a longer wait has no timer.
        const timer = millis <= 2_147_483_647
          ? setTimeout(() => {
            waiters.delete(wake)
            resume(Effect.void)
          }, millis)
          : undefined
        waiters.add(wake)
        return Effect.sync(() => {
          clearTimeout(timer)
          waiters.delete(wake)
        })
      })
    },
    waiting: () => waiters.size
  }
}

/**
 * Wakes catch-up subscriptions when an adapter appends: each append completes the current
 * deferred and installs a fresh one. Waiters also give up after a poll interval, so an append by
 * another process (a second writer on the same SQLite file) is seen too, only later.
 */
import { Deferred, Duration, Effect } from "effect"

export interface AppendSignal {
  /** Called by the adapter after each committed append. */
  readonly notify: () => void
  /**
   * Takes a ticket now; the returned effect resumes at the first append after this call, or after
   * `timeout`. Take the ticket before reading, so an append between the read and the wait is not missed.
   */
  readonly ticket: (timeout: Duration.DurationInput) => Effect.Effect<void>
}

export const makeAppendSignal = (): AppendSignal => {
  let current = Effect.runSync(Deferred.make<void>())
  return {
    notify: () => {
      const done = current
      current = Effect.runSync(Deferred.make<void>())
      Effect.runSync(Deferred.succeed(done, undefined))
    },
    ticket: (timeout) => {
      const awaited = current
      return Deferred.await(awaited).pipe(Effect.timeoutOption(timeout), Effect.asVoid)
    }
  }
}

/**
 * Wakes catch-up subscriptions when an adapter appends: each append wakes every ticket taken
 * before it. Waiters also give up after a poll interval, so an append by another process (a
 * second writer on the same SQLite file) is seen too, only later.
 *
 * Plain callbacks and one timer per waiting ticket, not a `Deferred` raced with a timeout: this is
 * on every append and every dispatcher wake-up, and the forked fibers of `timeoutOption` were a
 * visible share of their CPU (`npm run bench`).
 */
import { Duration, Effect } from "effect"

export interface AppendSignal {
  /** Called by the adapter after each committed append. */
  readonly notify: () => void
  /**
   * Takes a ticket now; the returned effect resumes at the first append after this call, or after
   * `timeout`. Take the ticket before reading, so an append between the read and the wait is not missed.
   */
  readonly ticket: (timeout: Duration.DurationInput) => Effect.Effect<void>
}

/** A ticket: notified by the first append after it was taken; `wake` is set while its effect waits. */
interface Ticket {
  notified: boolean
  wake: (() => void) | null
}

export const makeAppendSignal = (): AppendSignal => {
  let tickets = new Set<Ticket>()
  return {
    notify: () => {
      if (tickets.size === 0) return
      const taken = tickets
      tickets = new Set()
      for (const ticket of taken) {
        ticket.notified = true
        ticket.wake?.()
      }
    },
    ticket: (timeout) => {
      const ticket: Ticket = { notified: false, wake: null }
      tickets.add(ticket)
      const millis = Duration.toMillis(timeout)
      return Effect.async<void>((resume) => {
        if (ticket.notified) return resume(Effect.void)
        const done = () => {
          clearTimeout(timer)
          ticket.wake = null
          tickets.delete(ticket)
          resume(Effect.void)
        }
        // setTimeout fires at once for delays past 2^31-1 ms: a longer wait has no timer.
        const timer = millis <= 2_147_483_647 ? setTimeout(done, millis) : undefined
        ticket.wake = done
        return Effect.sync(() => {
          clearTimeout(timer)
          ticket.wake = null
          tickets.delete(ticket)
        })
      })
    }
  }
}

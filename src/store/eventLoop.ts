/** Giving Node's event loop a turn from a long run of synchronous work. */
import { Effect } from "effect"

/**
 * Resumes after the event loop's pending I/O and timers had their turn (`setImmediate`).
 * `Effect.yieldNow()` is not enough for that: it resumes on a microtask, and Effect's scheduler
 * gives the event loop a turn only after 2,048 of them.
 */
export const nextEventLoopTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const immediate = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(immediate))
})

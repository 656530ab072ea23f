/**
 * Deleting rows past their retention from the ledger's SQLite file in the background (idempotency
 * keys, finished webhook deliveries), without holding the write lock or the event loop long.
 */
import { Duration, Effect, Schedule } from "effect"
import { nextEventLoopTurn } from "../eventLoop.js"

/** The shortest period between passes, ms: a retention of a few ms must not mean a DELETE each ms. */
const shortestPeriodMillis = 1_000

export interface PeriodicPruning {
  /** What is pruned, for the log line of a failed pass. */
  readonly label: string
  /** The retention, ms (at least 1): a pass runs now and then every `min(retention, longestPeriodMillis)`, at least every second. */
  readonly retentionMillis: number
  readonly longestPeriodMillis: number
  /**
   * Deletes one chunk of what expired before `cutoff` (ms since the epoch, now minus the
   * retention by Effect's `Clock`) and returns how many rows it deleted; a chunk of `chunkSize`
   * means there may be more, and the next runs after the event loop had a turn.
   */
  readonly deleteChunk: (cutoff: number) => number
  readonly chunkSize: number
}

/** Runs the pruning passes until interrupted (fork it in a scope); a failed pass is logged and the next one tries again. */
export const pruneInChunksPeriodically = (pruning: PeriodicPruning): Effect.Effect<never> => {
  const retention = Math.max(1, Math.floor(pruning.retentionMillis))
  const period = Math.max(shortestPeriodMillis, Math.min(retention, pruning.longestPeriodMillis))
  const pass = Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => {
    const chunks = (): Effect.Effect<void> =>
      Effect.suspend(() =>
        pruning.deleteChunk(now - retention) < pruning.chunkSize ? Effect.void : Effect.zipRight(nextEventLoopTurn, chunks()))
    return chunks()
  })
  return pass.pipe(
    Effect.catchAllDefect((defect) => Effect.logWarning(`${pruning.label}: deleting what is past its retention failed`, defect)),
    Effect.repeat(Schedule.spaced(Duration.millis(period))),
    Effect.zipRight(Effect.never)
  )
}

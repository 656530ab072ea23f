/**
 * Group commit for the SQLite log: writes submitted in the same event-loop turn run in one
 * `BEGIN IMMEDIATE` transaction, one WAL commit for all of them. A write that throws fails alone
 * (the batch rolls back and runs again without it); writes that decide to fail (a conflict)
 * return their error as a value and write nothing. Every caller gets its own result after the commit.
 */
import { Effect } from "effect"
import type { SqliteDatabase } from "./sqliteDatabase.js"

/** Batches synchronous SQLite writes into shared transactions. */
export interface GroupCommit {
  /**
   * Runs `write` (synchronous, inside the next batch transaction) and resumes with what it returned
   * once the batch has committed: as a failure when `isFailure` says so (a write that decided not
   * to write, such as a conflict), else as a success. A throw from `write` is a defect, and so is a
   * failed commit (after one more attempt without `beforeCommit`, when the batch had run it).
   * Interrupting the caller before the batch starts withdraws the write.
   */
  readonly submit: {
    <A>(write: () => A): Effect.Effect<A>
    <A, E>(write: () => A | E, isFailure: (value: A | E) => value is E): Effect.Effect<A, E>
  }
}

interface Pending {
  readonly write: () => unknown
  readonly isFailure: ((value: unknown) => boolean) | undefined
  readonly resume: (result: Effect.Effect<unknown, unknown>) => void
}

/** Thrown out of a batch transaction to roll it back and name the write that failed. */
class WriteFailed extends Error {
  constructor(readonly index: number, override readonly cause: unknown) {
    super("a write in a group commit failed")
  }
}

/** What the group commit's owner runs around each batch transaction. */
export interface GroupCommitHooks {
  /** Runs first inside each attempt's transaction, before its writes (an attempt rolled back is run again). */
  readonly beforeWrites?: (() => void) | undefined
  /**
   * Runs inside the batch's transaction after its writes succeeded, right before COMMIT: work that
   * commits or rolls back with them, without a savepoint of its own (one cost the ingest path
   * ~10 % of its CPU: SQLite keeps each page's first image in a sub-journal). A throw rolls the
   * batch back and runs its writes again, without `beforeCommit` that time.
   */
  readonly beforeCommit?: (() => void) | undefined
  /** Runs once per committed batch, before callers resume. */
  readonly afterCommit: () => void
  /** The transaction rolled back after `beforeCommit` ran (it threw, or COMMIT failed). */
  readonly afterRollback?: (() => void) | undefined
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }

/** Builds the batcher over `db`; `hooks` run around each batch transaction. */
export const makeGroupCommit = (db: SqliteDatabase, { afterCommit, afterRollback, beforeCommit, beforeWrites }: GroupCommitHooks): GroupCommit => {
  let queue: Array<Pending> = []
  let scheduled = false
  /** Whether the running batch transaction got as far as `beforeCommit`. */
  let reachedCommit = false
  /** Whether this attempt runs `beforeCommit`; off for the retry after it threw. */
  let hooked = true

  const runBatch = db.transaction((batch: ReadonlyArray<Pending>): Array<unknown> => {
    beforeWrites?.()
    const values = batch.map((pending, index) => {
      try {
        return pending.write()
      } catch (error) {
        throw new WriteFailed(index, error)
      }
    })
    reachedCommit = true
    if (hooked) beforeCommit?.()
    return values
  })

  const flush = (): void => {
    if (db.inTransaction) {
      // Someone holds a transaction open across an await on this shared connection; writing now
      // would nest in it and report commits that are not yet durable. Try again shortly.
      setTimeout(flush, 1)
      return
    }
    scheduled = false
    const batch = queue
    queue = []
    const outcomes = new Map<Pending, Outcome>()
    // A write that throws is rare (disk full, a bug), so writes share the transaction without a
    // savepoint each: when one throws, the batch rolls back and runs again without it. Writes are
    // synchronous functions of the database state, so running one again after a rollback is safe.
    let remaining = batch
    hooked = true
    while (remaining.length > 0) {
      reachedCommit = false
      try {
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads first could
        // fail with SQLITE_BUSY_SNAPSHOT when another process writes the same file meanwhile.
        const values = runBatch.immediate(remaining)
        remaining.forEach((pending, i) => outcomes.set(pending, { ok: true, value: values[i] }))
        break
      } catch (error) {
        if (reachedCommit && hooked) {
          afterRollback?.()
          hooked = false
          continue
        }
        if (error instanceof WriteFailed) {
          const failed = remaining[error.index]!
          outcomes.set(failed, { ok: false, error: error.cause })
          remaining = remaining.filter((pending) => pending !== failed)
        } else {
          for (const pending of remaining) outcomes.set(pending, { ok: false, error })
          break
        }
      }
    }
    if (remaining.length > 0 && outcomes.get(remaining[0]!)?.ok === true) afterCommit()
    for (const pending of batch) {
      const outcome = outcomes.get(pending)!
      if (!outcome.ok) pending.resume(Effect.die(outcome.error))
      else pending.resume(pending.isFailure?.(outcome.value) === true ? Effect.fail(outcome.value) : Effect.succeed(outcome.value))
    }
  }

  return {
    submit: (<A, E>(write: () => A | E, isFailure?: (value: A | E) => value is E) =>
      Effect.async<A, E>((resume) => {
        const pending: Pending = {
          write,
          isFailure: isFailure as ((value: unknown) => boolean) | undefined,
          resume: resume as (result: Effect.Effect<unknown, unknown>) => void
        }
        queue.push(pending)
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
        return Effect.sync(() => {
          const index = queue.indexOf(pending)
          if (index >= 0) queue.splice(index, 1)
        })
      })) as GroupCommit["submit"]
  }
}

/**
 * Which EventStoreDB client failures are worth retrying, and how. Transient: the node is
 * unreachable or restarting (`UNAVAILABLE`), it is not the leader (`NotLeaderError`; the client
 * reconnects to the leader it names on the next call), a deadline passed, the server cancelled a
 * long call, or it timed out a write (`ABORTED`). Everything else is persistent and becomes a
 * defect at the port's edge, except the two errors the port types (conflict, deleted stream).
 */
import {
  CancelledError, convertToCommandError, DeadlineExceededError, NotLeaderError, StreamDeletedError, TimeoutError, UnavailableError,
  WrongExpectedVersionError
} from "@eventstore/db-client"
import { Data, Duration, Effect, Schedule } from "effect"
import { StreamDeleted, WrongExpectedRevision } from "../eventStore.js"
import type { ExpectedRevision } from "../eventStore.js"

/** A failure of the client, kept as it came until it is classified. */
export class EsdbCallFailed extends Data.TaggedError("EsdbCallFailed")<{ readonly operation: string; readonly cause: unknown }> {}

/** True when retrying the same call may succeed. */
export const isTransient = (error: unknown): boolean =>
  error instanceof UnavailableError ||
  error instanceof NotLeaderError ||
  error instanceof DeadlineExceededError ||
  error instanceof CancelledError ||
  error instanceof TimeoutError

/** Backoff for one call: 100 ms doubling, at most 2 s apart, about 15 s in all before giving up. */
export const callRetrySchedule = Schedule.exponential(Duration.millis(100), 2).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(2))),
  Schedule.jittered,
  Schedule.upTo(Duration.seconds(15))
)

/** Backoff for a subscription's reconnects: the same curve, forever (a subscription never ends by itself). */
export const resubscribeSchedule = Schedule.exponential(Duration.millis(100), 2).pipe(
  Schedule.either(Schedule.spaced(Duration.seconds(2))),
  Schedule.jittered
)

/**
 * Runs one client call, retrying transient failures with `callRetrySchedule`. Fails with the
 * client's error (wrapped) once retries are spent or the failure is persistent.
 */
export const esdbCall = <A>(operation: string, call: () => Promise<A>): Effect.Effect<A, EsdbCallFailed> =>
  Effect.tryPromise({
    try: call,
    // Most client methods convert gRPC errors to their error classes; a few paths (the server
    // features probe before the first append) reject with the raw gRPC error.
    catch: (cause) => new EsdbCallFailed({ operation, cause: convertToCommandError(cause as Error) })
  }).pipe(
    Effect.retry({ schedule: callRetrySchedule, while: (e) => isTransient(e.cause) })
  )

/** The conflict the port reports for the client's `WrongExpectedVersionError`; the server says -1 (or nothing) for no stream. */
export const toWrongExpectedRevision = (
  streamId: string,
  expected: ExpectedRevision,
  error: WrongExpectedVersionError
): WrongExpectedRevision => {
  const actual = error.actualVersion
  return new WrongExpectedRevision({ streamId, expected, actual: typeof actual === "bigint" && actual >= 0n ? actual : "no_stream" })
}

/**
 * Maps a failed write to a stream: a conflict becomes `WrongExpectedRevision` (with the expected
 * revision the caller gave), a deleted stream `StreamDeleted`, anything else a defect.
 */
export const forWrite = (streamId: string, expected: ExpectedRevision) =>
  (failure: EsdbCallFailed): Effect.Effect<never, WrongExpectedRevision | StreamDeleted> =>
    failure.cause instanceof WrongExpectedVersionError
      ? Effect.fail(toWrongExpectedRevision(streamId, expected, failure.cause))
      : forRead(streamId)(failure)

/** Maps a failed read of a stream: a tombstoned stream becomes `StreamDeleted`, anything else a defect. */
export const forRead = (streamId: string) => (failure: EsdbCallFailed): Effect.Effect<never, StreamDeleted> =>
  failure.cause instanceof StreamDeletedError ? Effect.fail(new StreamDeleted({ streamId })) : Effect.die(failure.cause)

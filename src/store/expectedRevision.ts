/** The expected-revision check every embedded adapter runs before it writes (EventStoreDB's `expectedRevision`). */
import { WrongExpectedRevision } from "./eventStore.js"
import type { ExpectedRevision } from "./eventStore.js"

/**
 * Checks `expected` against a stream whose last visible revision is `lastRevision` (null when the
 * stream does not exist or was soft-deleted). Returns the error to raise, carrying `expected` and
 * `actual` (`no_stream` for a missing stream), or null when the expectation holds.
 */
export const checkExpectedRevision = (
  streamId: string,
  expected: ExpectedRevision,
  lastRevision: bigint | null
): WrongExpectedRevision | null => {
  const actual = lastRevision ?? "no_stream"
  const holds = expected === "any" ||
    (expected === "no_stream" && lastRevision === null) ||
    (expected === "stream_exists" && lastRevision !== null) ||
    (typeof expected === "bigint" && lastRevision === expected)
  return holds ? null : new WrongExpectedRevision({ streamId, expected, actual })
}

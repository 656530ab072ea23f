/**
 * The command ids a call's state has applied, as a persistent set: adding one returns a new
 * version and leaves the old one as it was. A call's states form a line (each event's state is
 * evolved from the one before), so the versions share one append-only log, and a version is the
 * log's first `count` ids: adding to the newest version appends in O(1), and only adding to an
 * older one copies its prefix (one cached state settled twice: a command retried while its first
 * append was in flight, stored once). A native `Set` copied per event made a call's n-th command
 * cost O(n) (`npm run bench`, row "command latency on a long call": 3.0 ms per command at the end
 * of a 10,000-command call against 0.4 ms at its start), and Effect's `HashSet` took ~1 KB more per
 * state than this log, for each of the calls the write path caches (`cachedCallsPerStore`).
 */

/** A version of a call's applied command ids. */
export interface CommandIds {
  /** Shared by the versions of one line: each id with the position it was added at. */
  readonly log: Map<string, number>
  /** How many of the log's ids this version holds (the first `count`). */
  readonly count: number
}

/** The empty set: every call's first state. Its log is never added to. */
export const noCommandIds: CommandIds = { log: new Map(), count: 0 }

/** Whether `ids` holds `commandId`. */
export const hasCommandId = (ids: CommandIds, commandId: string): boolean => {
  const position = ids.log.get(commandId)
  return position !== undefined && position < ids.count
}

/** `ids` with `commandId` added (`ids` itself when it already holds it); `ids` is left unchanged. */
export const addCommandId = (ids: CommandIds, commandId: string): CommandIds => {
  if (hasCommandId(ids, commandId)) return ids
  // Every id in the log is below `count` when their numbers match, so appending keeps each
  // version's prefix its own; otherwise a later version already extended the log past this one.
  const log = ids !== noCommandIds && ids.log.size === ids.count ? ids.log : copyPrefix(ids)
  log.set(commandId, ids.count)
  return { log, count: ids.count + 1 }
}

/** A new log of the first `count` ids of `ids` (a Map iterates in insertion order, which is position order). */
const copyPrefix = (ids: CommandIds): Map<string, number> => {
  const log = new Map<string, number>()
  for (const [id, position] of ids.log) {
    if (position >= ids.count) break
    log.set(id, position)
  }
  return log
}

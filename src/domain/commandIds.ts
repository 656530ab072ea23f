/**
 * The command ids a call's state has applied, as a persistent set: adding one returns a new
 * version and leaves the old one as it was. A call's states form a line (each event's state is
 * evolved from the one before), so the versions share one append-only log, and a version is the
 * log's first `count` ids: adding to the newest version appends in O(1), and only adding to an
 * older one (a state evolved twice, e.g. from a cache entry whose append failed) copies its prefix.
 * A native `Set` copied per event made a call's n-th command cost O(n) (10,000 partial transcripts
 * on one call: 2.4 ms per command at the end); Effect's `HashSet` fixed that but took ~1 KB more
 * per cached call (the write path caches up to 50,000).
 */

/** Shared by the versions of one line: each id with the position it was added at. */
interface IdLog {
  readonly positions: Map<string, number>
}

/** A version of a call's applied command ids. */
export interface CommandIds {
  readonly log: IdLog
  /** How many of the log's ids this version holds (the first `count`). */
  readonly count: number
}

/** The empty set; a fresh log for each call's line of versions starts on its first add. */
export const noCommandIds: CommandIds = { log: { positions: new Map() }, count: 0 }

/** Whether `ids` holds `commandId`. */
export const hasCommandId = (ids: CommandIds, commandId: string): boolean => {
  const position = ids.log.positions.get(commandId)
  return position !== undefined && position < ids.count
}

/** `ids` with `commandId` added (`ids` itself when it already holds it); `ids` is left unchanged. */
export const addCommandId = (ids: CommandIds, commandId: string): CommandIds => {
  if (hasCommandId(ids, commandId)) return ids
  // The empty set is every call's start: its first add takes a log of its own.
  const log = ids !== noCommandIds && ids.log.positions.size === ids.count ? ids.log : copyPrefix(ids)
  log.positions.set(commandId, ids.count)
  return { log, count: ids.count + 1 }
}

/** A new log of the first `count` ids of `ids` (a Map iterates in insertion order, which is position order). */
const copyPrefix = (ids: CommandIds): IdLog => {
  const positions = new Map<string, number>()
  for (const [id, position] of ids.log.positions) {
    if (position >= ids.count) break
    positions.set(id, position)
  }
  return { positions }
}

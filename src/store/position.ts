/** Helpers for `$all` positions: ordering and a text form for checkpoints (`"<commit>/<prepare>"`). */
import type { Position } from "./eventStore.js"

/** Negative when `a` is before `b`, 0 when equal, positive after. */
export const comparePositions = (a: Position, b: Position): number =>
  a.commit === b.commit ? (a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1) : a.commit < b.commit ? -1 : 1

/** The embedded stores' position: one sequence number for both parts. */
export const sequencePosition = (sequence: number | bigint): Position => {
  const n = BigInt(sequence)
  return { commit: n, prepare: n }
}

export const positionToString = (p: Position): string => `${p.commit}/${p.prepare}`

/** Parses `positionToString`'s form; throws on anything else. */
export const positionFromString = (s: string): Position => {
  const match = /^(\d+)\/(\d+)$/.exec(s)
  if (match === null) throw new Error(`not a position: ${s}`)
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) }
}

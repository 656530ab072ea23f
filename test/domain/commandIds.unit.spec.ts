import { describe, expect, it } from "vitest"
import { addCommandId, hasCommandId, noCommandIds } from "../../src/domain/commandIds.js"
import type { CommandIds } from "../../src/domain/commandIds.js"

const addAll = (ids: CommandIds, ...commandIds: ReadonlyArray<string>): CommandIds => commandIds.reduce(addCommandId, ids)
const holds = (ids: CommandIds, ...commandIds: ReadonlyArray<string>) => commandIds.map((id) => hasCommandId(ids, id))

describe("command ids (persistent set)", () => {
  it("holds what was added to it, and an older version keeps only what it had", () => {
    const one = addCommandId(noCommandIds, "a")
    const three = addAll(one, "b", "c")
    expect(holds(three, "a", "b", "c", "d")).toEqual([true, true, true, false])
    expect(holds(one, "a", "b", "c")).toEqual([true, false, false])
    expect(holds(noCommandIds, "a")).toEqual([false])
  })

  it("returns the same version when the id is already there", () => {
    const two = addAll(noCommandIds, "a", "b")
    expect(addCommandId(two, "a")).toBe(two)
  })

  it("keeps two versions added to from one apart, however they go on", () => {
    const base = addAll(noCommandIds, "a", "b")
    const left = addAll(base, "l1", "l2")
    const right = addAll(base, "r1")
    const rightAgain = addAll(right, "l1", "r2")
    expect(holds(left, "a", "b", "l1", "l2", "r1", "r2")).toEqual([true, true, true, true, false, false])
    expect(holds(right, "a", "b", "l1", "l2", "r1", "r2")).toEqual([true, true, false, false, true, false])
    expect(holds(rightAgain, "a", "b", "l1", "l2", "r1", "r2")).toEqual([true, true, true, false, true, true])
    expect(holds(base, "l1", "r1")).toEqual([false, false])
    // An id the shared log already holds past the older version's count.
    const leftAgain = addCommandId(base, "l1")
    expect(holds(leftAgain, "a", "b", "l1", "l2")).toEqual([true, true, true, false])
    expect(holds(left, "l1", "l2")).toEqual([true, true])
  })

  it("gives two calls started from the empty set separate histories", () => {
    const first = addCommandId(noCommandIds, "x")
    const second = addCommandId(noCommandIds, "y")
    expect(holds(first, "x", "y")).toEqual([true, false])
    expect(holds(second, "x", "y")).toEqual([false, true])
    expect(noCommandIds.log.size).toBe(0)
  })
})

import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { makeAppendSignal } from "../../src/store/appendSignal.js"

const elapsed = async (effect: Effect.Effect<void>) => {
  const started = performance.now()
  await Effect.runPromise(effect)
  return performance.now() - started
}

describe("append signal", () => {
  it("a ticket taken before an append resumes at once, even when it starts waiting after the append", async () => {
    const signal = makeAppendSignal()
    const ticket = signal.ticket(5_000)
    signal.notify()
    expect(await elapsed(ticket)).toBeLessThan(1_000)
  })

  it("wakes every waiting ticket at the next append, and a ticket taken after it waits for the next one", async () => {
    const signal = makeAppendSignal()
    const waiting = [signal.ticket(5_000), signal.ticket(5_000)].map((t) => Effect.runFork(t))
    const later = signal.ticket(5_000)
    await new Promise((resolve) => setTimeout(resolve, 20))
    signal.notify()
    await Promise.all(waiting.map((f) => Effect.runPromise(Fiber.join(f))))
    const after = signal.ticket(150)
    signal.notify()
    expect(await elapsed(later)).toBeLessThan(1_000)
    expect(await elapsed(signal.ticket(150))).toBeGreaterThanOrEqual(140)
    expect(await elapsed(after)).toBeLessThan(100)
  })

  it("gives up after the timeout (the poll interval)", async () => {
    const signal = makeAppendSignal()
    expect(await elapsed(signal.ticket(100))).toBeGreaterThanOrEqual(95)
  })
})

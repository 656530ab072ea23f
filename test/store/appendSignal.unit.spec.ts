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

  it("holds nothing for tickets that are never waited on (a catch-up page that found events), and forgets waiters that resume or are interrupted", async () => {
    const signal = makeAppendSignal()
    for (let i = 0; i < 1_000; i++) signal.ticket(5_000)
    expect(signal.waiting()).toBe(0)
    const waiting = Effect.runFork(signal.ticket(5_000))
    const interrupted = Effect.runFork(signal.ticket(5_000))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(signal.waiting()).toBe(2)
    await Effect.runPromise(Fiber.interrupt(interrupted))
    expect(signal.waiting()).toBe(1)
    signal.notify()
    await Effect.runPromise(Fiber.join(waiting))
    expect(signal.waiting()).toBe(0)
    await elapsed(signal.ticket(10))
    expect(signal.waiting()).toBe(0)
  })

  it("a ticket's effect run twice after an append resumes at once both times", async () => {
    const signal = makeAppendSignal()
    const ticket = signal.ticket(5_000)
    signal.notify()
    expect(await elapsed(ticket)).toBeLessThan(1_000)
    expect(await elapsed(ticket)).toBeLessThan(1_000)
  })
})

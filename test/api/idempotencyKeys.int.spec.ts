/**
 * `Idempotency-Key` retention: a key is answered again for its time to live and forgotten after,
 * and the expired rows are deleted in the background, on a real SQLite file, with Effect's test
 * clock standing in for a day passing.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, TestClock } from "effect"
import { join } from "node:path"
import { IdempotencyKeyReused } from "../../src/api/apiErrors.js"
import { IdempotencyKeys, idempotencyKeysLayer } from "../../src/api/idempotencyKeys.js"
import { LedgerDatabase, ledgerDatabaseLayer } from "../../src/store/sqlite/sqliteDatabase.js"
import { makeTempDir } from "../projections/callScenarios.js"

const hour = 3_600_000
const ttl = 24 * hour
const start = Date.parse("2026-01-01T00:00:00.000Z")

const temps: Array<{ cleanup: () => void }> = []
afterEach(() => {
  for (const t of temps.splice(0)) t.cleanup()
})
/** Runs `test` with the keys on a fresh file, built once the test clock reads `start`. */
const onFreshFile = <A, E>(test: Effect.Effect<A, E, IdempotencyKeys | LedgerDatabase>) => {
  const temp = makeTempDir()
  temps.push(temp)
  const layer = idempotencyKeysLayer(ttl).pipe(Layer.provideMerge(ledgerDatabaseLayer(join(temp.dir, "ledger.db"))))
  return Effect.zipRight(TestClock.setTime(start), Effect.provide(test, layer))
}

const storedKeys = Effect.map(LedgerDatabase, (db) =>
  (db.prepare("SELECT key FROM idempotency_keys ORDER BY key").all() as Array<{ key: string }>).map((r) => r.key))

/** Lets the forked pruning run its chunks after the clock moved: it gives the event loop a turn between them. */
const settle = Effect.repeatN(Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))), 20)

describe("idempotency keys: time to live", () => {
  it.scoped("answers a key again until its time to live is over, then runs its request as new", () =>
    onFreshFile(Effect.gen(function*() {
      const keys = yield* IdempotencyKeys
      let runs = 0
      const create = (phone: string) =>
        keys.once("key-1", { method: "POST", path: "/v1/calls", body: { phone } }, Effect.sync(() => ({ id: `call-${++runs}` })))

      expect(yield* create("+15550001111")).toEqual({ id: "call-1" })
      yield* TestClock.adjust(ttl - 1_000)
      expect(yield* create("+15550001111")).toEqual({ id: "call-1" })
      expect(yield* Effect.flip(create("+15550002222"))).toBeInstanceOf(IdempotencyKeyReused)

      // Expired, not yet pruned (the last pass ran exactly at its time to live): forgotten all the same.
      yield* TestClock.adjust(2_000)
      expect(yield* storedKeys).toEqual(["key-1"])
      expect(yield* create("+15550002222")).toEqual({ id: "call-2" })
      expect(yield* create("+15550002222")).toEqual({ id: "call-2" })
      expect(runs).toBe(2)
    })))

  it.scoped("deletes the expired keys in the background, in chunks, keeping live keys and requests in flight", () =>
    onFreshFile(Effect.gen(function*() {
      const keys = yield* IdempotencyKeys
      const request = (key: string) => keys.once(key, { method: "POST", path: "/v1/calls", body: { key } }, Effect.succeed({ key }))
      // More than one chunk of the pruning's deletes (1,000 rows).
      yield* Effect.forEach(Array.from({ length: 2_500 }, (_, i) => `old-${String(i).padStart(4, "0")}`), request, { discard: true })
      const gate = yield* Deferred.make<void>()
      const inFlight = yield* Effect.fork(keys.once("in-flight", { method: "POST", path: "/v1/calls", body: {} }, Effect.as(Deferred.await(gate), { done: true })))
      yield* settle
      yield* TestClock.adjust(12 * hour)
      yield* request("fresh")
      expect((yield* storedKeys).length).toBe(2_502)

      // 12 h later the first keys are past their time to live; the next pass (every 10 min) deletes them.
      yield* TestClock.adjust(12 * hour + 10 * 60_000)
      yield* settle
      expect(yield* storedKeys).toEqual(["fresh", "in-flight"])

      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(inFlight)
      expect(yield* storedKeys).toEqual(["fresh", "in-flight"])
    })))
})

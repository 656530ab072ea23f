/**
 * Inline projection: with `run` running on the SQLite store of its own connection, each group
 * commit's appends and the read models they change commit in one transaction.
 */
import { Effect, Exit, Fiber } from "effect"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type { CallCommand } from "../../src/domain/callCommands.js"
import { allProjections } from "../../src/projections/index.js"
import { callViewProjection, readCallView } from "../../src/projections/callView.js"
import type { Projection } from "../../src/projections/projection.js"
import { makeProjectionRunner, ProjectionFailed } from "../../src/projections/projectionRunner.js"
import type { BatchCommitted, ProjectionRunnerOptions } from "../../src/projections/projectionRunner.js"
import { positionToString } from "../../src/store/position.js"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { makeSqliteEventStore, observeAppendTransactions } from "../../src/store/sqlite/sqliteEventStore.js"
import { dial, dumpTables, generateCalls, makeTempDir, send } from "./callScenarios.js"

const temps: Array<{ cleanup: () => void }> = []
afterEach(() => {
  for (const t of temps.splice(0)) t.cleanup()
})

/** The log and the read models in one fresh file, on one connection, the runner's live loop running. */
const openLedgerFile = async (projections: ReadonlyArray<Projection> = allProjections, options?: ProjectionRunnerOptions) => {
  const temp = makeTempDir()
  temps.push(temp)
  const path = join(temp.dir, "ledger.db")
  const db = openSqliteDatabase(path)
  const store = makeSqliteEventStore(db)
  const runner = await Effect.runPromise(makeProjectionRunner(db, store, projections, options))
  return { path, db, store, runner }
}

/** `commands` grouped by call, each call's in order (Node 20 has no `Map.groupBy`). */
const byCall = (commands: ReadonlyArray<CallCommand>): Array<Array<CallCommand>> => {
  const calls = new Map<string, Array<CallCommand>>()
  for (const c of commands) calls.set(c.callId, [...(calls.get(c.callId) ?? []), c])
  return [...calls.values()]
}

/**
 * Opens a ledger file with `options`, appends the first `share` of `commands` while no runner
 * runs, then forks `run`: the runner starts behind by that much. The rest of the commands too.
 */
const runAfter = async (commands: ReadonlyArray<CallCommand>, share: number, options: ProjectionRunnerOptions) => {
  const ledger = await openLedgerFile(allProjections, options)
  const split = Math.floor(commands.length * share)
  await send(ledger.store, ...commands.slice(0, split))
  const fiber = Effect.runFork(ledger.runner.run)
  return { ledger, fiber, rest: commands.slice(split) }
}

/**
 * Waits until the runner applied the log's head, stops `run` and closes the file, after checking
 * the rows: `calls` calls, and the very rows a rebuild from zero gives.
 */
const expectRowsOfRebuild = async (
  { db, runner, store }: Awaited<ReturnType<typeof openLedgerFile>>,
  fiber: Fiber.RuntimeFiber<void, ProjectionFailed>,
  calls: number
) => {
  const last = await Effect.runPromise(store.headPosition)
  expect(await Effect.runPromise(runner.waitFor(last!, "10 seconds"))).toBe(true)
  await Effect.runPromise(Fiber.interrupt(fiber))
  const live = dumpTables(db)
  expect(JSON.parse(live.calls!)).toHaveLength(calls)
  await Effect.runPromise(runner.rebuild())
  expect(dumpTables(db)).toEqual(live)
  db.close()
}

const eventCount = (db: ReturnType<typeof openSqliteDatabase>): number =>
  (db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n

describe("inline projection (SQLite store on the runner's connection)", () => {
  it("a command's read models commit with its append: readable, checkpoint moved and onBatch told when the command returns", async () => {
    const { db, path, runner, store } = await openLedgerFile()
    const batches: Array<BatchCommitted> = []
    runner.onBatch((batch) => batches.push(batch))
    const fiber = Effect.runFork(runner.run)
    await new Promise((resolve) => setTimeout(resolve, 20))

    // What another connection sees the moment the append commits (observers run in the order added).
    const other = openSqliteDatabase(path)
    const atCommit: Array<string | undefined> = []
    const stopObserving = observeAppendTransactions(store, db, {
      beforeCommit: () => {},
      afterCommit: () => atCommit.push(readCallView(other, "cal_inline")?.status),
      afterRollback: () => {}
    })
    const [result] = await send(store, dial("cal_inline", "2024-02-01T09:14:03Z"))
    stopObserving?.()
    expect(atCommit).toEqual(["queued"])
    expect(readCallView(db, "cal_inline")?.status).toBe("queued")
    expect(runner.position()).toEqual(result!.position)
    expect(batches).toEqual([{ position: result!.position, events: 1, mode: "live" }])
    // The live loop, woken by the same commit, neither applies nor announces the batch again.
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(batches).toHaveLength(1)
    const checkpoints = other.prepare("SELECT DISTINCT position FROM projection_checkpoints").all() as Array<{ position: string }>
    expect(checkpoints).toEqual([{ position: positionToString(result!.position!) }])
    other.close()

    await Effect.runPromise(Fiber.interrupt(fiber))
    // Outside `run`, appends no longer carry the projections with them.
    await send(store, dial("cal_later", "2024-02-01T09:15:03Z"))
    expect(readCallView(db, "cal_later")).toBeNull()
    db.close()
  })

  it("the events an append transaction hands its observers are those a $all read returns in that transaction", async () => {
    const { db, store } = await openLedgerFile()
    const seen: Array<{ appended: unknown; read: unknown }> = []
    const stopObserving = observeAppendTransactions(store, db, {
      beforeCommit: (appended) => {
        const first = appended[0]!.position
        const read = store.readAllNow!({ after: { commit: first.commit - 1n, prepare: first.prepare - 1n }, maxCount: 10_000 })
        seen.push({ appended: [...appended], read })
      },
      afterCommit: () => {},
      afterRollback: () => {}
    })
    // Many calls' commands at once, so that group commits hold several appends of several streams.
    const calls = generateCalls(40, 5)
    await Promise.all([0, 1, 2, 3].map((share) => send(store, ...calls.filter((_, i) => i % 4 === share))))
    stopObserving?.()
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.some(({ appended }) => (appended as Array<unknown>).length > 1)).toBe(true)
    for (const { appended, read } of seen) expect(appended).toStrictEqual(read)
    db.close()
  })

  it("a projection that throws inline loses no append: the command is stored, the runner stops at that event, its rows rolled back", async () => {
    let attempts = 0
    const failingOnOneCall: Projection = (db) => {
      const handler = callViewProjection(db)
      return {
        ...handler,
        apply: (event) => {
          handler.apply(event)
          if (event.streamId === "call-cal_two") {
            attempts++
            throw new Error("simulated projection bug")
          }
        }
      }
    }
    const { db, runner, store } = await openLedgerFile([failingOnOneCall])
    const fiber = Effect.runFork(runner.run)
    await new Promise((resolve) => setTimeout(resolve, 20))

    await send(store, dial("cal_one", "2024-02-01T09:14:03Z"))
    const [second] = await send(store, dial("cal_two", "2024-02-01T09:15:03Z"))
    expect(second!.position).not.toBeNull()
    expect(eventCount(db)).toBe(2)

    const exit = await Effect.runPromise(Fiber.await(fiber))
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = runner.failure()
    expect(failure).toBeInstanceOf(ProjectionFailed)
    expect(failure!.event?.streamId).toBe("call-cal_two")
    expect(String(failure!.cause)).toContain("simulated projection bug")
    expect(readCallView(db, "cal_one")?.status).toBe("queued")
    expect(readCallView(db, "cal_two")).toBeNull()
    expect(runner.position()).toEqual(sequenceOf(1))
    expect(db.prepare("SELECT position FROM projection_checkpoints").all()).toEqual([{ position: "1/1" }])
    // Once inline, rolled back with the appends, and once in the live loop, which stopped there.
    expect(attempts).toBe(2)
    db.close()
  })

  it("an inline batch that fails once is left to the live loop: the runner goes on, its rows those of a rebuild", async () => {
    let thrown = 0
    // The first fourth event of a call, in an inline batch of several calls (12 at once):
    // the batch's earlier events are in the projections' write-behind state when it throws.
    const failingOnceIn = (projection: Projection): Projection => (db) => {
      const handler = projection(db)
      return {
        ...handler,
        apply: (event) => {
          handler.apply(event)
          if (event.revision === 3n && thrown === 0) {
            thrown++
            throw new Error("fails once, inline")
          }
        }
      }
    }
    const ledger = await openLedgerFile(allProjections.map(failingOnceIn))
    const { runner, store } = ledger
    const fiber = Effect.runFork(runner.run)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const commands = generateCalls(12, 3)
    await Promise.all(byCall(commands).map((own) => send(store, ...own)))
    await expectRowsOfRebuild(ledger, fiber, 12)
    expect(runner.failure()).toBeNull()
    expect(thrown).toBe(1)
  })

  it("behind by more than a batch at its start, then fed concurrent commands, the live run gives the rows of a rebuild", async () => {
    const { fiber, ledger, rest } = await runAfter(generateCalls(60, 11), 1 / 3, { batchSize: 10 })
    // Commands of different calls at once, so group commits hold several; each call's in order.
    await Promise.all(byCall(rest).map((own) => send(ledger.store, ...own)))
    await expectRowsOfRebuild(ledger, fiber, 60)
  })

  it("while one projection is rebuilt, appends carry only the others; the rebuilt one catches up to the same rows", async () => {
    const { fiber, ledger, rest } = await runAfter(generateCalls(80, 5), 1 / 2, { pageSize: 50 })
    const { runner, store } = ledger
    expect(await Effect.runPromise(runner.waitFor((await Effect.runPromise(store.headPosition))!, "10 seconds"))).toBe(true)

    const rebuilding = Effect.runPromise(runner.rebuild(["call_stats"]))
    await Promise.all(byCall(rest).map((own) => send(store, ...own)))
    await rebuilding
    await expectRowsOfRebuild(ledger, fiber, 80)
  })
})

const sequenceOf = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) })

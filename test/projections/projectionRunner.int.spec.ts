import { Cause, Duration, Effect, Exit, Fiber, Layer, Option } from "effect"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { handleCallCommand } from "../../src/store/callCommandHandler.js"
import { EventStore } from "../../src/store/eventStore.js"
import type { EventStoreService, Position } from "../../src/store/eventStore.js"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import { sequencePosition } from "../../src/store/position.js"
import { ledgerDatabaseLayer, openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { allProjections } from "../../src/projections/index.js"
import { callStatsProjection, readCallStats } from "../../src/projections/callStats.js"
import { callViewProjection, readCallView } from "../../src/projections/callView.js"
import { doNotCallProjection } from "../../src/projections/doNotCall.js"
import type { Projection } from "../../src/projections/projection.js"
import { makeProjectionRunner, ProjectionFailed, Projections, projectionsLayer } from "../../src/projections/projectionRunner.js"
import type { BatchCommitted, ProjectionRunner } from "../../src/projections/projectionRunner.js"
import { transcriptProjection } from "../../src/projections/transcriptView.js"
import { after, answer, dial, disposition, dumpTables, generateCalls, makeTempDir, openRunner, send } from "./callScenarios.js"

const temps: Array<{ cleanup: () => void }> = []
const tempDir = () => {
  const t = makeTempDir()
  temps.push(t)
  return t.dir
}
afterEach(() => {
  for (const t of temps.splice(0)) t.cleanup()
})

const headOf = (store: EventStoreService): Promise<Position> =>
  Effect.runPromise(store.headPosition).then((p) => {
    if (p === null) throw new Error("empty log")
    return p
  })

/** Forks `run` and resolves once every projection applied the head of the log. */
const runToHead = async (runner: ProjectionRunner, store: EventStoreService) => {
  const fiber = Effect.runFork(runner.run)
  const reached = await Effect.runPromise(runner.waitFor(await headOf(store), "10 seconds"))
  expect(reached).toBe(true)
  return fiber
}

/** Runs `body` against a memory store with the runner's live loop running over a fresh file; stops and closes after. */
const withLiveRunner = async (
  file: string,
  body: (ledger: { store: EventStoreService; db: SqliteDatabase; runner: ProjectionRunner }) => Promise<void>
) => {
  const store = makeMemoryEventStore()
  const { db, runner } = await openRunner(join(tempDir(), file), store)
  const fiber = Effect.runFork(runner.run)
  try {
    await body({ store, db, runner })
  } finally {
    await Effect.runPromise(Fiber.interrupt(fiber))
    db.close()
  }
}

/** The rows an uninterrupted catch-up over the whole log produces in a fresh file. */
const referenceDump = async (store: EventStoreService) => {
  const { db, runner } = await openRunner(join(tempDir(), "reference.db"), store)
  await Effect.runPromise(runner.catchUp)
  const dump = dumpTables(db)
  db.close()
  return dump
}

/** The typed error an exit failed with, if any. */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** Wraps a projection so its `n`-th apply throws, as a crash in the middle of a batch. */
const crashingAt = (n: number, projection: Projection): Projection => (db) => {
  const handler = projection(db)
  let applied = 0
  return {
    ...handler,
    apply: (event) => {
      if (++applied === n) throw new Error("simulated crash")
      handler.apply(event)
    }
  }
}

describe("projection runner", () => {
  it("read-your-writes: waitFor resumes once the live runner applied a command's position", () =>
    withLiveRunner("ryw.db", async ({ store, db, runner }) => {
      const [result] = await send(store, dial("cal_ryw", "2024-02-01T09:14:03Z"))
      const reached = await Effect.runPromise(runner.waitFor(result!.position!, "5 seconds"))
      expect(reached).toBe(true)
      expect(readCallView(db, "cal_ryw")?.status).toBe("queued")
      expect(runner.position()).toEqual(result!.position)
      // A position the log has not reached yet times out with false.
      const later = await Effect.runPromise(runner.waitFor(sequencePosition(1_000), "50 millis"))
      expect(later).toBe(false)
    }))

  it("waitFor with an infinite timeout waits until the position is applied; an interrupted one ends interrupted", () =>
    withLiveRunner("ryw-infinite.db", async ({ store, runner }) => {
      const [first] = await send(store, dial("cal_inf_1", "2024-02-01T09:14:03Z"))
      await Effect.runPromise(runner.waitFor(first!.position!, "5 seconds"))
      const next = sequencePosition(first!.position!.commit + 1n)
      const forever = Effect.runFork(runner.waitFor(next, Duration.infinity))
      const interrupted = Effect.runFork(runner.waitFor(next, "1 hour"))
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(forever.unsafePoll()).toBeNull()
      await Effect.runPromise(Fiber.interrupt(interrupted))
      await send(store, dial("cal_inf_2", "2024-02-01T09:15:03Z"))
      expect(await Effect.runPromise(Fiber.join(forever))).toBe(true)
      expect(Exit.isInterrupted(await Effect.runPromise(Fiber.await(interrupted)))).toBe(true)
    }))

  it("calls onBatch after each commit, with the data already readable", async () => {
    const store = makeMemoryEventStore()
    const seen: Array<{ batch: BatchCommitted; status: string | undefined }> = []
    let db: ReturnType<typeof openSqliteDatabase> | undefined
    const opened = await openRunner(join(tempDir(), "batch.db"), store, allProjections, {
      onBatch: (batch) => seen.push({ batch, status: readCallView(db!, "cal_b")?.status })
    })
    db = opened.db
    const removeThrowing = opened.runner.onBatch(() => {
      throw new Error("a listener bug is logged, not fatal")
    })
    await send(store, dial("cal_b", "2024-02-01T09:14:03Z"))
    const fiber = await runToHead(opened.runner, store)
    removeThrowing()
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(seen).toEqual([{ batch: { position: sequencePosition(1), events: 1, mode: "live" }, status: "queued" }])
    db.close()
  })

  it("a live run in small batches, a rebuild from zero and a fresh catch-up give byte-identical rows", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(150, 3))
    const { db, runner } = await openRunner(join(tempDir(), "live.db"), store, allProjections, { batchSize: 17 })
    const fiber = await runToHead(runner, store)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const live = dumpTables(db)
    expect(JSON.parse(live.calls!)).toHaveLength(150)

    const result = await Effect.runPromise(runner.rebuild())
    expect(result.projections).toEqual(["call_view", "transcript", "call_stats", "do_not_call"])
    expect(result.position).toEqual(await headOf(store))
    expect(dumpTables(db)).toEqual(live)

    const statsAlone = await Effect.runPromise(runner.rebuild(["call_stats"]))
    expect(statsAlone.projections).toEqual(["call_stats"])
    expect(dumpTables(db)).toEqual(live)

    expect(await referenceDump(store)).toEqual(live)
    db.close()
  })

  it("a rebuild reads through a memory map and gives the connection back as it found it, also when it fails", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(10, 3))
    const mapSizes: Array<number> = []
    const watching: Projection = (db) => ({
      ...doNotCallProjection(db),
      endRebuild: () => mapSizes.push(Number(db.pragma("mmap_size", { simple: true })))
    })
    const { db, runner } = await openRunner(join(tempDir(), "mapped.db"), store, [watching])
    db.pragma("mmap_size = 4096")
    await Effect.runPromise(runner.rebuild())
    expect(mapSizes).toHaveLength(1)
    expect(mapSizes[0]).toBeGreaterThan(1_000_000_000)
    expect(db.pragma("mmap_size", { simple: true })).toBe(4096)
    db.close()

    const broken = await openRunner(join(tempDir(), "mapped-broken.db"), store, [crashingAt(5, doNotCallProjection)])
    const exit = await Effect.runPromiseExit(broken.runner.rebuild())
    expect(Exit.isFailure(exit)).toBe(true)
    expect(broken.db.pragma("mmap_size", { simple: true })).toBe(0)
    broken.db.close()
  })

  it("rebuild rejects unknown projection names", async () => {
    const store = makeMemoryEventStore()
    const { db, runner } = await openRunner(join(tempDir(), "unknown.db"), store)
    const exit = await Effect.runPromiseExit(runner.rebuild(["calls_view"]))
    expect(failureOf(exit)).toMatchObject({ _tag: "UnknownProjection", names: ["calls_view"] })
    db.close()
  })

  it("a crash between batches (db closed mid-way, reopened) resumes from the checkpoints to the same rows", async () => {
    const store = makeMemoryEventStore()
    // The log grows while the runner is down: the first run stops at a known checkpoint, deterministically.
    const commands = generateCalls(150, 5)
    const half = Math.floor(commands.length / 2)
    await send(store, ...commands.slice(0, half))
    const path = join(tempDir(), "crash.db")
    const first = await openRunner(path, store, allProjections, { batchSize: 23 })
    const fiber = await runToHead(first.runner, store)
    await Effect.runPromise(Fiber.interrupt(fiber))
    const stoppedAt = first.runner.position()!
    first.db.close()
    await send(store, ...commands.slice(half))
    expect(stoppedAt.commit).toBeLessThan((await headOf(store)).commit)

    const second = await openRunner(path, store, allProjections, { batchSize: 23 })
    expect(second.runner.position()).toEqual(stoppedAt)
    const resumed = await runToHead(second.runner, store)
    await Effect.runPromise(Fiber.interrupt(resumed))
    expect(dumpTables(second.db)).toEqual(await referenceDump(store))
    second.db.close()
  })

  it("a batch that fails leaves none of its calls in memory: the call view reads only committed rows", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(10, 3))
    const [first] = await Effect.runPromise(store.readAll({ maxCount: 1 }))
    const callId = (first!.data as { callId: string }).callId
    const { runner, db } = await openRunner(join(tempDir(), "discard.db"), store, [callViewProjection, crashingAt(20, transcriptProjection)])
    const exit = await Effect.runPromiseExit(runner.catchUp)
    expect(Exit.isFailure(exit)).toBe(true)
    expect(readCallView(db, callId)).toBeNull()
    expect((db.prepare("SELECT count(*) AS n FROM calls").get() as { n: number }).n).toBe(0)
    db.close()
  })

  it("a batch whose COMMIT fails leaves none of its calls in memory either: the next batch starts from the committed rows", async () => {
    // While armed, every batch of this projection breaks a deferred foreign key: COMMIT fails after every flush ran.
    let armed = false
    const failingCommit: Projection = (db) => {
      db.exec(`CREATE TABLE IF NOT EXISTS parents (id INTEGER PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS orphans (parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);`)
      const orphan = db.prepare("INSERT INTO orphans (parent) VALUES (42)")
      return {
        name: "failing-commit", eventTypes: new Set(["CallDispositioned"]), apply: () => {}, reset: () => {},
        flush: () => {
          if (armed) orphan.run()
        }
      }
    }
    const store = makeMemoryEventStore()
    const { runner, db } = await openRunner(join(tempDir(), "commit-fails.db"), store, [callViewProjection, callStatsProjection, failingCommit])
    const t = "2024-06-10T10:00:00Z"
    await send(store, dial("cal_commit", t, { campaignId: "cmp_commit" }), answer("cal_commit", after(t, 2)))
    await Effect.runPromise(runner.catchUp)
    await send(store, disposition("cal_commit", after(t, 50), { disposition: "callback", sentiment: "positive" }))
    armed = true
    const exit = await Effect.runPromiseExit(runner.catchUp)
    expect(String(failureOf(exit)?.cause)).toContain("FOREIGN KEY")
    expect(readCallView(db, "cal_commit")).toMatchObject({ disposition: null, revision: 1 })
    // A runner started again on the same connection applies the disposition to the rows as committed.
    armed = false
    const again = await Effect.runPromise(makeProjectionRunner(db, store, [callViewProjection, callStatsProjection, failingCommit]))
    await Effect.runPromise(again.catchUp)
    expect(readCallView(db, "cal_commit")).toMatchObject({ disposition: "callback", revision: 2 })
    expect(readCallStats(db, { campaignId: "cmp_commit" })).toMatchObject({
      total_calls: 1, by_disposition: { callback: 1 }, sentiment_breakdown: { positive: 1, neutral: 0, negative: 0 }
    })
    db.close()
  })

  it("a crash inside a batch rolls the whole batch back for every projection, and stops the runner loudly", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(120, 9))
    const path = join(tempDir(), "midbatch.db")
    // The last projection fails on its 250th event: the earlier ones applied that batch's events already.
    const broken = [callViewProjection, transcriptProjection, callStatsProjection, crashingAt(250, doNotCallProjection)]
    const first = await openRunner(path, store, broken, { batchSize: 40 })
    const exit = await Effect.runPromiseExit(first.runner.run)
    expect(Exit.isFailure(exit)).toBe(true)
    const failure = first.runner.failure()
    expect(failure).toBeInstanceOf(ProjectionFailed)
    expect(failure!.projection).toBe("do_not_call")
    expect(failure!.event?.streamId).toMatch(/^call-cal_g/)
    expect(String(failure!.cause)).toContain("simulated crash")
    const waited = await Effect.runPromiseExit(first.runner.waitFor(sequencePosition(1), "1 second"))
    expect(failureOf(waited)).toBe(failure)
    expect(failureOf(exit)).toBe(failure)

    const checkpoints = first.db.prepare("SELECT projection, position FROM projection_checkpoints").all() as Array<{ position: string }>
    expect(checkpoints).toHaveLength(4)
    expect(new Set(checkpoints.map((c) => c.position)).size).toBe(1)
    const stoppedAt = Number(checkpoints[0]!.position.split("/")[0])
    expect(stoppedAt % 40).toBe(0)
    const callsSeen = (first.db.prepare("SELECT max(revision) AS r, count(*) AS n FROM calls").get() as { n: number }).n
    first.db.close()

    // Only the events up to the checkpoint are in the call view: a fresh runner over that prefix agrees.
    const prefixStore = makeMemoryEventStore()
    const prefix = await Effect.runPromise(store.readAll({ maxCount: stoppedAt }))
    for (const e of prefix) {
      await Effect.runPromise(prefixStore.appendToStream(e.streamId, [{ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata }], "any"))
    }
    const prefixRunner = await openRunner(join(tempDir(), "prefix.db"), prefixStore)
    await Effect.runPromise(prefixRunner.runner.catchUp)
    expect((prefixRunner.db.prepare("SELECT count(*) AS n FROM calls").get() as { n: number }).n).toBe(callsSeen)
    const second = await openRunner(path, store)
    expect(dumpTables(prefixRunner.db)).toEqual(dumpTables(second.db))
    prefixRunner.db.close()

    const resumed = await runToHead(second.runner, store)
    await Effect.runPromise(Fiber.interrupt(resumed))
    expect(dumpTables(second.db)).toEqual(await referenceDump(store))
    second.db.close()
  })

  it("a rebuild cut short (indexes dropped, some pages committed) is finished on the next open: same indexes and rows", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(120, 17))
    const path = join(tempDir(), "cutshort.db")
    const indexes = (db: ReturnType<typeof openSqliteDatabase>) =>
      db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").all()
    const first = await openRunner(path, store, allProjections, { pageSize: 50 })
    await Effect.runPromise(first.runner.catchUp)
    const built = indexes(first.db)
    first.db.close()

    // The call view fails in the middle of the rebuild, after several pages were committed without their indexes.
    const broken = [crashingAt(300, callViewProjection), transcriptProjection, callStatsProjection, doNotCallProjection]
    const crashed = await openRunner(path, store, broken, { pageSize: 50 })
    const exit = await Effect.runPromiseExit(crashed.runner.rebuild())
    expect(failureOf(exit)).toBeInstanceOf(ProjectionFailed)
    expect(indexes(crashed.db)).not.toEqual(built)
    crashed.db.close()

    const second = await openRunner(path, store, allProjections, { pageSize: 50 })
    expect(indexes(second.db)).toEqual(built)
    await Effect.runPromise(second.runner.catchUp)
    expect(dumpTables(second.db)).toEqual(await referenceDump(store))
    second.db.close()
  })

  it("a catch-up while every projection is being rebuilt reads nothing and returns at once", async () => {
    const memory = makeMemoryEventStore()
    // Rebuild pages take a few ms each, so the rebuild is still under way when the catch-up runs.
    const store: EventStoreService = {
      ...memory,
      readAll: (options) => Effect.tap(memory.readAll(options), () => Effect.sleep("3 millis")),
      readAllNow: undefined
    }
    await send(store, ...generateCalls(200, 31))
    const { db, runner } = await openRunner(join(tempDir(), "all-rebuilding.db"), store, allProjections, { pageSize: 60 })
    const catchUpBatches: Array<number> = []
    let firstRebuildPage: () => void = () => {}
    const rebuildUnderWay = new Promise<void>((resolve) => {
      firstRebuildPage = resolve
    })
    runner.onBatch((batch) => {
      if (batch.mode === "catch-up") catchUpBatches.push(batch.events)
      if (batch.mode === "rebuild") firstRebuildPage()
    })
    let rebuildDone = false
    const rebuilding = Effect.runPromise(runner.rebuild()).finally(() => {
      rebuildDone = true
    })
    await rebuildUnderWay
    await Effect.runPromise(runner.catchUp)
    expect(rebuildDone).toBe(false)
    expect(catchUpBatches).toEqual([])
    await rebuilding
    expect(dumpTables(db)).toEqual(await referenceDump(memory))
    db.close()
  })

  it("a projection added later is built from zero while the others resume from their checkpoints", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(80, 13))
    const path = join(tempDir(), "added.db")
    const first = await openRunner(path, store, [callViewProjection, transcriptProjection])
    await Effect.runPromise(first.runner.catchUp)
    first.db.close()
    const second = await openRunner(path, store)
    expect(second.runner.position()).toBeNull()
    await Effect.runPromise(second.runner.catchUp)
    expect(dumpTables(second.db)).toEqual(await referenceDump(store))
    second.db.close()
  })

  // A remote store has no synchronous read, so the runner reads each page before its transaction;
  // an in-process one (`readAllNow`) is read inside it, a chunk at a time.
  it.each([
    ["read before its transaction (a remote store)", false],
    ["read inside its transaction (an in-process store)", true]
  ])("rebuilding one projection while the live runner follows new writes, each page %s, ends with the same rows as a fresh run", async (_, inProcess) => {
    const memory = makeMemoryEventStore()
    // Remote pages (60 events) arrive a few ms after they were read, as over a network, so live
    // batches of newer writes commit between a page's read and its commit.
    const store: EventStoreService = inProcess ? memory : {
      ...memory,
      readAll: (options) =>
        options?.maxCount === 60 ? Effect.tap(memory.readAll(options), () => Effect.sleep("3 millis")) : memory.readAll(options),
      readAllNow: undefined
    }
    const commands = generateCalls(200, 17)
    await send(store, ...commands.slice(0, 500))
    const liveBatchesDuringRebuild: Array<number> = []
    let rebuildRunning = false
    const { db, runner } = await openRunner(join(tempDir(), "concurrent.db"), store, allProjections, {
      batchSize: 25,
      pageSize: 60,
      onBatch: (batch) => {
        if (rebuildRunning && batch.mode === "live") liveBatchesDuringRebuild.push(batch.events)
      }
    })
    const fiber = await runToHead(runner, store)
    rebuildRunning = true
    const rebuilding = Effect.runPromise(runner.rebuild(["call_view"])).finally(() => {
      rebuildRunning = false
    })
    // Writes arrive as separate requests do, with I/O turns in between.
    for (let i = 500; i < commands.length; i += 5) {
      await send(store, ...commands.slice(i, i + 5))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await rebuilding
    expect(liveBatchesDuringRebuild.length).toBeGreaterThan(0)
    expect(await Effect.runPromise(runner.waitFor(await headOf(store), "10 seconds"))).toBe(true)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(dumpTables(db)).toEqual(await referenceDump(store))
    db.close()
  })

  /** The names of the indexes in the file, sorted: a rebuild drops the call view's and creates them at its end. */
  const indexNames = (db: SqliteDatabase): Array<string> =>
    db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").all().map((r) => r.name)

  /** Resolves once the runner commits its next page of a rebuild. */
  const nextRebuildPage = (runner: ProjectionRunner) =>
    new Promise<void>((resolve) => {
      const stopListening = runner.onBatch((batch) => {
        if (batch.mode !== "rebuild") return
        stopListening()
        resolve()
      })
    })

  /** After an interrupted rebuild: short of the head until a catch-up gives a fresh run's indexes and rows. */
  const expectFinishedByCatchUp = async (db: SqliteDatabase, runner: ProjectionRunner, store: EventStoreService, indexes: Array<string>) => {
    expect(runner.position()).not.toEqual(await headOf(store))
    expect(await Effect.runPromise(runner.catchUp)).toEqual(await headOf(store))
    expect(indexNames(db)).toEqual(indexes)
    expect(dumpTables(db)).toEqual(await referenceDump(store))
  }

  /** Starts `rebuild(names)` and interrupts it right after its first page committed. */
  const interruptAfterFirstPage = async (runner: ProjectionRunner, names?: ReadonlyArray<string>) => {
    const committed = nextRebuildPage(runner)
    const rebuild = Effect.runFork(runner.rebuild(names))
    await committed
    const exit = await Effect.runPromise(Fiber.interrupt(rebuild))
    expect(Exit.isInterrupted(exit)).toBe(true)
  }

  it("a rebuild interrupted between pages is finished by the live loop: read-your-writes goes on, rows and indexes as a fresh run", async () => {
    const store = makeMemoryEventStore()
    const commands = generateCalls(200, 19)
    await send(store, ...commands.slice(0, 600))
    const { db, runner } = await openRunner(join(tempDir(), "interrupted-live.db"), store, allProjections, { pageSize: 60 })
    const fiber = await runToHead(runner, store)
    const indexes = indexNames(db)
    await interruptAfterFirstPage(runner, ["call_view", "call_stats"])
    await send(store, ...commands.slice(600))
    expect(await Effect.runPromise(runner.waitFor(await headOf(store), "10 seconds"))).toBe(true)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(indexNames(db)).toEqual(indexes)
    expect(dumpTables(db)).toEqual(await referenceDump(store))
    db.close()
  })

  it("a live loop stopped while it finishes an interrupted rebuild leaves the rest to the next catch-up", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(200, 37))
    const { db, runner } = await openRunner(join(tempDir(), "interrupted-twice.db"), store, allProjections, { pageSize: 60 })
    const live = await runToHead(runner, store)
    const indexes = indexNames(db)
    await interruptAfterFirstPage(runner)
    // The live loop's fiber takes the rebuild over; stop the loop after one more page of it.
    await nextRebuildPage(runner)
    await Effect.runPromise(Fiber.interrupt(live))
    await expectFinishedByCatchUp(db, runner, store, indexes)
    db.close()
  })

  it("a rebuild interrupted between pages, with no live loop, is finished by the next catch-up", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(150, 29))
    const { db, runner } = await openRunner(join(tempDir(), "interrupted-catch-up.db"), store, allProjections, { pageSize: 60 })
    await Effect.runPromise(runner.catchUp)
    const indexes = indexNames(db)
    await interruptAfterFirstPage(runner)
    await expectFinishedByCatchUp(db, runner, store, indexes)
    db.close()
  })

  /** The rows the live loop (which reads each batch before its transaction) gives over the whole log, in a fresh file. */
  const liveReference = async (store: EventStoreService) => {
    const live = await openRunner(join(tempDir(), "live.db"), store)
    await Effect.runPromise(Fiber.interrupt(await runToHead(live.runner, store)))
    const rows = dumpTables(live.db)
    live.db.close()
    return rows
  }

  const checkpointOf = (db: ReturnType<typeof openSqliteDatabase>, projection: string): string | null =>
    (db.prepare("SELECT position FROM projection_checkpoints WHERE projection = ?").get(projection) as { position: string } | undefined)
      ?.position ?? null

  it("pages of an in-process store longer than a read chunk (500 events) are applied whole and once", async () => {
    const store = makeMemoryEventStore()
    await send(store, ...generateCalls(800, 23))
    const logLength = (await Effect.runPromise(store.readAll())).length
    const expected = await liveReference(store)

    const { db, runner } = await openRunner(join(tempDir(), "paged.db"), store, allProjections, { pageSize: 1_200 })
    const pages: Array<number> = []
    runner.onBatch((batch) => pages.push(batch.events))
    await Effect.runPromise(runner.catchUp)
    expect(logLength).toBeGreaterThan(2_400)
    expect(pages.slice(0, -1).every((events) => events === 1_200), pages.join(",")).toBe(true)
    expect(pages.reduce((a, b) => a + b, 0)).toBe(logLength)
    expect(dumpTables(db)).toEqual(expected)
    await Effect.runPromise(runner.rebuild())
    expect(dumpTables(db)).toEqual(expected)
    db.close()
  })

  it("across pages and read chunks, projections at different checkpoints each get every event once", async () => {
    const store = makeMemoryEventStore()
    const commands = generateCalls(1_000, 29)
    await send(store, ...commands.slice(0, 1_700))
    const path = join(tempDir(), "staggered.db")
    const first = await openRunner(path, store, [callViewProjection, transcriptProjection])
    await Effect.runPromise(first.runner.catchUp)
    const resumedAt = checkpointOf(first.db, "call_view")
    first.db.close()
    await send(store, ...commands.slice(1_700))
    // The call view and transcript resume inside the second page, and not on a chunk's edge.
    const resumedAfter = Number(resumedAt!.split("/")[0])
    expect(resumedAfter).toBeGreaterThan(1_200)
    expect(resumedAfter).toBeLessThan(2_400)
    expect(resumedAfter % 500).not.toBe(0)

    const second = await openRunner(path, store, allProjections, { pageSize: 1_200 })
    const callViewAfterEachPage: Array<string | null> = []
    second.runner.onBatch(() => callViewAfterEachPage.push(checkpointOf(second.db, "call_view")))
    await Effect.runPromise(second.runner.catchUp)
    // The first page ended before the call view's checkpoint: it did not move back.
    expect(callViewAfterEachPage[0]).toBe(resumedAt)
    expect(dumpTables(second.db)).toEqual(await liveReference(store))
    second.db.close()
  })

  it("each projection sees only the streams it names; the runner follows their union", async () => {
    const store = makeMemoryEventStore()
    const seen: Record<string, Array<string>> = { calls_only: [], endpoints_only: [] }
    const recorder = (name: string, streamPrefixes?: ReadonlyArray<string>): Projection => () => ({
      name,
      eventTypes: new Set(["CallDialed", "EndpointRegistered"]),
      ...(streamPrefixes === undefined ? {} : { streamPrefixes }),
      apply: (event) => {
        seen[name]!.push(event.streamId)
      },
      reset: () => {
        seen[name]!.length = 0
      }
    })
    const metadata = { schemaVersion: 1, commandId: "c1", correlationId: "c1", causationId: null, occurredAt: "2024-01-01T00:00:00Z", recordedAt: "2024-01-01T00:00:00Z" }
    await send(store, dial("cal_streams", "2024-02-01T09:14:03Z"))
    await Effect.runPromise(store.appendToStream("endpoint-e1", [{ eventId: "8d3c2a51-2b8e-4a5e-9a43-0f6c1d1e2b3c", type: "EndpointRegistered", data: {}, metadata }], "no_stream"))
    await Effect.runPromise(store.appendToStream("other-x", [{ eventId: "5b0e3f7a-8f7d-4a2b-b1c9-6f2d8e4a1c0b", type: "EndpointRegistered", data: {}, metadata }], "no_stream"))
    const { db, runner } = await openRunner(join(tempDir(), "streams.db"), store, [recorder("calls_only"), recorder("endpoints_only", ["endpoint-"])])
    expect(await Effect.runPromise(runner.catchUp)).toEqual(sequencePosition(2))
    expect(seen).toEqual({ calls_only: ["call-cal_streams"], endpoints_only: ["endpoint-e1"] })
    db.close()
  })

  it("as a Layer: starts with the scope, serves read-your-writes, stops when the scope closes", async () => {
    const path = join(tempDir(), "layer.db")
    const store = makeMemoryEventStore()
    const layer = projectionsLayer(allProjections).pipe(
      Layer.provideMerge(Layer.merge(ledgerDatabaseLayer(path), Layer.succeed(EventStore, store)))
    )
    const view = await Effect.runPromise(
      Effect.gen(function*() {
        const projections = yield* Projections
        const result = yield* handleCallCommand(dial("cal_layer", "2024-02-01T09:14:03Z"))
        expect(yield* projections.waitFor(result.position!, "5 seconds")).toBe(true)
        const db = openSqliteDatabase(path)
        const read = readCallView(db, "cal_layer")
        db.close()
        return read
      }).pipe(Effect.provide(layer), Effect.scoped)
    )
    expect(view?.id).toBe("cal_layer")
  })
})

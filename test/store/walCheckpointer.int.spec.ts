import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { LedgerDatabase, ledgerDatabaseLayer, openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { backstopCheckpointPages, startWalCheckpointer } from "../../src/store/sqlite/walCheckpointer.js"

const folder = mkdtempSync(join(tmpdir(), "call-ledger-checkpointer-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

/** About `kib` KiB of rows in transactions of 64 KiB, as commits would come. */
const writeRows = (db: ReturnType<typeof openSqliteDatabase>, kib: number) => {
  db.exec("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
  const insert = db.prepare<[string]>("INSERT INTO blobs (body) VALUES (?)")
  const body = "x".repeat(1024)
  for (let done = 0; done < kib; done += 64) {
    db.transaction(() => {
      for (let i = 0; i < 64; i++) insert.run(body)
    }).immediate()
  }
}

const untilTrue = async (check: () => boolean, timeoutMillis: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMillis
  while (Date.now() < deadline) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return check()
}

describe("background WAL checkpoints", () => {
  it("moves committed pages into the database file from the worker, while the connection itself never checkpoints", async () => {
    const path = join(folder, "ledger.db")
    const rowCount = await Effect.runPromise(Effect.gen(function*() {
      const db = yield* LedgerDatabase
      expect(Number(db.pragma("wal_autocheckpoint", { simple: true }))).toBe(backstopCheckpointPages)
      // 2 MiB: half of SQLite's default threshold, far below the backstop, so only the worker checkpoints.
      writeRows(db, 2048)
      const moved = yield* Effect.promise(() => untilTrue(() => statSync(path).size > 1024 * 1024, 5_000))
      expect(moved).toBe(true)
      return (db.prepare("SELECT count(*) AS n FROM blobs").get() as { n: number }).n
    }).pipe(Effect.provide(ledgerDatabaseLayer(path)), Effect.scoped))

    // The scope closed the connection after the worker stopped; every committed row is there.
    const reopened = openSqliteDatabase(path)
    expect((reopened.prepare("SELECT count(*) AS n FROM blobs").get() as { n: number }).n).toBe(rowCount)
    reopened.close()
  })

  it("a connection without the worker keeps its pages in the WAL below SQLite's threshold (the test above can fail)", async () => {
    const path = join(folder, "plain.db")
    const db = openSqliteDatabase(path)
    writeRows(db, 2048)
    await new Promise((r) => setTimeout(r, 300))
    expect(statSync(path).size).toBeLessThan(1024 * 1024)
    db.close()
  })

  it("hands checkpoints back to the connection when stopped, and does nothing for an in-memory database", async () => {
    const db = openSqliteDatabase(join(folder, "stopped.db"))
    const checkpointer = startWalCheckpointer(db)
    await checkpointer.stop()
    expect(Number(db.pragma("wal_autocheckpoint", { simple: true }))).toBe(1000)
    db.close()

    const memory = openSqliteDatabase(":memory:")
    await startWalCheckpointer(memory).stop()
    expect(Number(memory.pragma("wal_autocheckpoint", { simple: true }))).toBe(1000)
    memory.close()
  })
})

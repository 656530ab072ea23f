import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"

const folder = mkdtempSync(join(tmpdir(), "call-ledger-database-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

describe("the ledger's connection", () => {
  it("gathers no STAT4 samples on ANALYZE, so statements are not prepared again at every bind", () => {
    const db = openSqliteDatabase(join(folder, "analyzed.db"))
    db.exec("CREATE TABLE things (id TEXT PRIMARY KEY, kind TEXT NOT NULL); CREATE INDEX things_by_kind ON things (kind)")
    const insert = db.prepare<[string, string]>("INSERT INTO things (id, kind) VALUES (?, ?)")
    db.transaction(() => {
      for (let i = 0; i < 2_000; i++) insert.run(`t${i}`, `k${i % 7}`)
    })()
    db.exec("ANALYZE")
    expect((db.prepare("SELECT count(*) AS n FROM sqlite_stat1").get() as { n: number }).n).toBeGreaterThan(0)
    expect((db.prepare("SELECT count(*) AS n FROM sqlite_stat4").get() as { n: number }).n).toBe(0)
    db.close()
  })
})

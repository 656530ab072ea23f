import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Fiber } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { makeGroupCommit } from "../../src/store/sqlite/groupCommit.js"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"

const folder = mkdtempSync(join(tmpdir(), "call-ledger-group-commit-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

const openTable = () => {
  const db = openSqliteDatabase(join(folder, `${randomUUID()}.db`))
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
  const insert = db.prepare<[string]>("INSERT INTO notes (text) VALUES (?)")
  const texts = () => db.prepare<[], { text: string }>("SELECT text FROM notes ORDER BY id").all().map((r) => r.text)
  return { db, insert, texts }
}

describe("group commit", () => {
  it("commits writes submitted together in one transaction and gives each caller its own result", async () => {
    const { db, insert, texts } = openTable()
    let commits = 0
    const groupCommit = makeGroupCommit(db, { afterCommit: () => { commits += 1 } })
    const ids = await Effect.runPromise(Effect.all(
      Array.from({ length: 50 }, (_, i) => groupCommit.submit(() => Number(insert.run(`note ${i}`).lastInsertRowid))),
      { concurrency: "unbounded" }
    ))
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(commits).toBe(1)
    expect(texts()).toHaveLength(50)

    await Effect.runPromise(groupCommit.submit(() => insert.run("later")))
    expect(commits).toBe(2)
  })

  it("a write that throws fails alone, its partial writes rolled back, the others committed", async () => {
    const { db, insert, texts } = openTable()
    const groupCommit = makeGroupCommit(db, { afterCommit: () => {} })
    const exits = await Effect.runPromise(Effect.all([
      groupCommit.submit(() => insert.run("a")),
      groupCommit.submit(() => {
        insert.run("half written")
        insert.run("a")
      }),
      groupCommit.submit(() => insert.run("b"))
    ].map((write) => Effect.exit(write)), { concurrency: "unbounded" }))
    expect(exits.map(Exit.isSuccess)).toEqual([true, false, true])
    expect(String(Exit.isFailure(exits[1]!) && exits[1].cause)).toContain("UNIQUE constraint failed")
    expect(texts()).toEqual(["a", "b"])
  })

  it("an interrupted caller's write is withdrawn when the batch has not started", async () => {
    const { db, insert, texts } = openTable()
    const groupCommit = makeGroupCommit(db, { afterCommit: () => {} })
    await Effect.runPromise(Effect.gen(function*() {
      const withdrawn = yield* Effect.fork(groupCommit.submit(() => insert.run("withdrawn")))
      const kept = yield* Effect.fork(groupCommit.submit(() => insert.run("kept")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(withdrawn)
      yield* Fiber.join(kept)
    }))
    expect(texts()).toEqual(["kept"])
  })

  it("waits for a transaction held open on the shared connection instead of nesting in it", async () => {
    const { db, insert, texts } = openTable()
    const groupCommit = makeGroupCommit(db, { afterCommit: () => {} })
    db.exec("BEGIN")
    insert.run("outer")
    const inner = Effect.runPromise(groupCommit.submit(() => insert.run("inner")))
    let done = false
    void inner.then(() => { done = true })
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(done).toBe(false)
    db.exec("COMMIT")
    await inner
    expect(texts()).toEqual(["outer", "inner"])
  })

  it("beforeCommit writes in the batch's own transaction; when it throws, the batch rolls back and commits again without it", async () => {
    const { db, insert, texts } = openTable()
    const calls: Array<string> = []
    let fail = false
    const groupCommit = makeGroupCommit(db, {
      beforeCommit: () => {
        calls.push("before")
        insert.run(`derived from ${texts().length} notes`)
        if (fail) throw new Error("a bug in the observer")
      },
      afterCommit: () => calls.push("commit"),
      afterRollback: () => calls.push("rollback")
    })
    await Effect.runPromise(Effect.all([groupCommit.submit(() => insert.run("a")), groupCommit.submit(() => insert.run("b"))], { concurrency: "unbounded" }))
    expect(texts()).toEqual(["a", "b", "derived from 2 notes"])
    expect(calls).toEqual(["before", "commit"])

    // A write that throws is dropped first; the hook then runs once, on the writes left.
    calls.length = 0
    const exits = await Effect.runPromise(Effect.all([
      groupCommit.submit(() => insert.run("a")),
      groupCommit.submit(() => insert.run("x"))
    ].map((write) => Effect.exit(write)), { concurrency: "unbounded" }))
    expect(exits.map(Exit.isSuccess)).toEqual([false, true])
    expect(texts()).toEqual(["a", "b", "derived from 2 notes", "x", "derived from 4 notes"])
    expect(calls).toEqual(["before", "commit"])

    calls.length = 0
    fail = true
    const id = await Effect.runPromise(groupCommit.submit(() => Number(insert.run("c").lastInsertRowid)))
    expect(texts()).toEqual(["a", "b", "derived from 2 notes", "x", "derived from 4 notes", "c"])
    expect(id).toBe(6)
    expect(calls).toEqual(["before", "rollback", "commit"])
  })
})

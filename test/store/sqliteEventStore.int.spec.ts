import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Chunk, Effect, Either, Layer, Option, Stream } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { EventStore } from "../../src/store/eventStore.js"
import type { EventToAppend } from "../../src/store/eventStore.js"
import { ledgerDatabaseLayer, openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { makeSqliteEventStore, SqliteEventStoreLive } from "../../src/store/sqlite/sqliteEventStore.js"
import { eventStoreContract } from "./eventStoreContract.js"
import type { OpenedStore } from "./eventStoreContract.js"

const folder = mkdtempSync(join(tmpdir(), "call-ledger-sqlite-store-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
const newFile = () => join(folder, `${randomUUID()}.db`)

const openFile = async (file: string): Promise<OpenedStore> => {
  const db = openSqliteDatabase(file)
  return {
    store: makeSqliteEventStore(db),
    reopen: async () => {
      db.close()
      return openFile(file)
    },
    close: async () => {
      if (db.open) db.close()
    }
  }
}

eventStoreContract("sqlite", { open: () => openFile(newFile()) })

const event = (type = "CallTested", data: unknown = {}): EventToAppend => ({
  eventId: randomUUID(),
  type,
  data,
  metadata: {
    schemaVersion: 1, commandId: randomUUID(), correlationId: "corr", causationId: null,
    occurredAt: "2024-02-01T09:14:03.000Z", recordedAt: "2024-02-01T09:14:03.000Z"
  }
})

describe("sqlite EventStore", () => {
  it("never shows $-prefixed system streams or event types in $all", async () => {
    const store = makeSqliteEventStore(openSqliteDatabase(newFile()))
    await Effect.runPromise(store.appendToStream("$settings", [event("Settings")], "any"))
    await Effect.runPromise(store.appendToStream("call-1", [event("$metadata"), event("CallDialed")], "any"))
    const all = await Effect.runPromise(store.readAll())
    expect(all.map((e) => `${e.streamId}:${e.type}`)).toEqual(["call-1:CallDialed"])
  })

  it("group-commits appends issued together, each told its own result; a failing one leaves the others alone", async () => {
    const db = openSqliteDatabase(newFile())
    const store = makeSqliteEventStore(db)
    await Effect.runPromise(store.appendToStream("call-taken", [event()], "no_stream"))
    const appends = Array.from({ length: 200 }, (_, i) => store.appendToStream(`call-${i}`, [event(), event()], "no_stream"))
    const conflicting = store.appendToStream("call-taken", [event()], "no_stream")
    const outcomes = await Effect.runPromise(
      Effect.all([...appends.slice(0, 100), conflicting, ...appends.slice(100)], { concurrency: "unbounded", mode: "either" })
    )
    const failed = outcomes[100]!
    expect(Either.isLeft(failed) && failed.left).toMatchObject({ _tag: "WrongExpectedRevision", actual: 0n })
    const results = outcomes.filter((_, i) => i !== 100).map((o) => Either.getOrThrow(o))
    expect(results.every((r) => r.nextExpectedRevision === 1n)).toBe(true)
    expect(new Set(results.map((r) => r.position.commit)).size).toBe(200)
    for (const [i, result] of results.entries()) {
      const read = await Effect.runPromise(store.readStream(`call-${i}`))
      expect(read.map((e) => e.revision)).toEqual([0n, 1n])
      expect(read[1]!.position).toEqual(result.position)
    }
    expect(await Effect.runPromise(store.readStream("call-taken"))).toHaveLength(1)
    db.close()
  })

  it("a file from before drops its event-id index on open, and a retried append is still recognised by its ids", async () => {
    const file = newFile()
    const db = openSqliteDatabase(file)
    const retried = [event("CallDialed"), event("CallAnswered")]
    const stored = await Effect.runPromise(makeSqliteEventStore(db).appendToStream("call-9", retried, "no_stream"))
    db.exec("CREATE INDEX events_by_event_id ON events (event_id)")
    db.close()
    const reopened = openSqliteDatabase(file)
    const store = makeSqliteEventStore(reopened)
    const indexes = reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").pluck().all()
    expect(indexes).toEqual(["sqlite_autoindex_events_1"])
    // The same ids again, stated after no revision (a retry): the stored result, nothing written.
    expect(await Effect.runPromise(store.appendToStream("call-9", retried, "no_stream"))).toEqual(stored)
    expect(await Effect.runPromise(store.readStream("call-9"))).toHaveLength(2)
    reopened.close()
  })

  it("an append whose data cannot be encoded as JSON fails alone", async () => {
    const store = makeSqliteEventStore(openSqliteDatabase(newFile()))
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    const outcomes = await Effect.runPromise(Effect.all([
      store.appendToStream("call-1", [event()], "no_stream"),
      Effect.exit(store.appendToStream("call-2", [event("CallTested", cyclic)], "no_stream")),
      store.appendToStream("call-3", [event()], "no_stream")
    ], { concurrency: "unbounded" }))
    expect(outcomes[1]._tag).toBe("Failure")
    expect((await Effect.runPromise(store.readAll())).map((e) => e.streamId)).toEqual(["call-1", "call-3"])
  })

  it("a subscription sees appends made through another connection to the same file", async () => {
    const file = newFile()
    const reader = makeSqliteEventStore(openSqliteDatabase(file), { pollIntervalMillis: 50 })
    const writer = makeSqliteEventStore(openSqliteDatabase(file))
    const received = Effect.runPromise(reader.subscribeToAll().pipe(
      Stream.filterMap((m) => m._tag === "Event" ? Option.some(m.event.streamId) : Option.none()),
      Stream.take(2),
      Stream.runCollect,
      Effect.timeout("10 seconds")
    ))
    await Effect.runPromise(writer.appendToStream("call-1", [event()], "no_stream"))
    await Effect.runPromise(writer.appendToStream("call-2", [event()], "no_stream"))
    expect(Chunk.toReadonlyArray(await received)).toEqual(["call-1", "call-2"])
  })

  it("a committed append survives the process being killed (SIGKILL) right after it returns", async () => {
    const file = newFile()
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", `
      import { Effect } from "effect"
      import { openSqliteDatabase } from "./src/store/sqlite/sqliteDatabase.ts"
      import { makeSqliteEventStore } from "./src/store/sqlite/sqliteEventStore.ts"
      const store = makeSqliteEventStore(openSqliteDatabase(${JSON.stringify(file)}))
      const metadata = { schemaVersion: 1, commandId: "c", correlationId: "c", causationId: null,
        occurredAt: "2024-02-01T09:14:03.000Z", recordedAt: "2024-02-01T09:14:03.000Z" }
      for (let i = 0; ; i++) {
        const result = await Effect.runPromise(store.appendToStream("call-killed",
          [{ eventId: crypto.randomUUID(), type: "CallTested", data: { i }, metadata }], "any"))
        process.stdout.write("committed " + result.nextExpectedRevision + "\\n")
      }
    `], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString() })
    const lastCommitted = await new Promise<number>((resolve, reject) => {
      let output = ""
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString()
        const lines = output.split("\n").filter((line) => line.startsWith("committed "))
        if (lines.length >= 50) {
          child.kill("SIGKILL")
          resolve(Number(lines[lines.length - 1]!.slice("committed ".length)))
        }
      })
      child.on("exit", (code, signal) => signal === "SIGKILL" || reject(new Error(`child exited ${code}: ${stderr}`)))
    })
    await new Promise((resolve) => child.once("close", resolve))

    const store = makeSqliteEventStore(openSqliteDatabase(file))
    const read = await Effect.runPromise(store.readStream("call-killed"))
    expect(read.length).toBeGreaterThan(lastCommitted)
    expect(read.map((e) => e.revision)).toEqual(read.map((_, i) => BigInt(i)))
    expect(read.map((e) => (e.data as { i: number }).i)).toEqual(read.map((_, i) => i))
  })

  it("SqliteEventStoreLive serves the EventStore from the shared LedgerDatabase file", async () => {
    const file = newFile()
    const layer = SqliteEventStoreLive.pipe(Layer.provide(ledgerDatabaseLayer(file)))
    const append = Effect.flatMap(EventStore, (store) => store.appendToStream("call-1", [event()], "any"))
    await Effect.runPromise(Effect.provide(append, layer))
    const again = await Effect.runPromise(Effect.provide(append, layer))
    expect(again.nextExpectedRevision).toBe(1n)
  })
})

/**
 * Opens the embedded SQLite file (better-sqlite3) the way every part of the ledger uses it:
 * WAL journal, `synchronous = NORMAL` (a committed transaction survives the process being killed;
 * only an OS crash or power loss can drop the last ones), a busy timeout for a second reader process.
 */
import Database from "better-sqlite3"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { Context, Effect, Layer } from "effect"
import { startWalCheckpointer } from "./walCheckpointer.js"

/** A better-sqlite3 connection. */
export interface SqliteDatabase extends Database.Database {}

/** Opens (creating folders and file if needed) a SQLite database at `path`; `:memory:` works too. */
export const openSqliteDatabase = (path: string): SqliteDatabase => {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.pragma("busy_timeout = 5000")
  db.pragma("foreign_keys = ON")
  // ANALYZE on this connection samples at most 100 000 rows per index and so writes no STAT4
  // samples: with them (better-sqlite3 builds SQLite with STAT4) every statement binding a value
  // compared with an analysed index is prepared again at each run (a 3 µs lookup took 15 µs).
  db.pragma("analysis_limit = 100000")
  return db
}

/** SQLite's largest memory map as better-sqlite3 builds it (`SQLITE_MAX_MMAP_SIZE`, 0x7fff0000 bytes). */
const largestMemoryMapBytes = 0x7fff0000

/**
 * Runs `effect` with `db` reading its file through a memory map (`PRAGMA mmap_size`, up to 2 GiB)
 * instead of a system call per page, and restores the size it had when `effect` ends, however it
 * ends. For work that reads whole tables, such as a rebuild's index builds (13 of them over
 * `calls`: 5.0 s with page reads, 2.0 s mapped, at 1M events). Not the default: the mapped pages
 * count in the process's RSS while serving.
 */
export const withMemoryMap = <A, E, R>(db: SqliteDatabase, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const previous = Number(db.pragma("mmap_size", { simple: true }))
      db.pragma(`mmap_size = ${largestMemoryMapBytes}`)
      return previous
    }),
    () => effect,
    (previous) => Effect.sync(() => db.pragma(`mmap_size = ${previous}`))
  )

/**
 * The embedded SQLite file: read models, checkpoints and webhook deliveries, and on the embedded
 * store the log too (one file, so an append and a projection can share a transaction). On
 * EventStoreDB it is each instance's local read-model file.
 */
export class LedgerDatabase extends Context.Tag("call-ledger/LedgerDatabase")<LedgerDatabase, SqliteDatabase>() {}

/**
 * Scoped layer: opens the file with its background checkpointer (`walCheckpointer.ts`), stops
 * the checkpointer and closes the file when the scope ends.
 */
export const ledgerDatabaseLayer = (path: string): Layer.Layer<LedgerDatabase> =>
  Layer.scoped(
    LedgerDatabase,
    Effect.acquireRelease(
      Effect.sync(() => {
        const db = openSqliteDatabase(path)
        return { db, checkpointer: startWalCheckpointer(db) }
      }),
      ({ checkpointer, db }) => Effect.promise(() => checkpointer.stop()).pipe(Effect.ensuring(Effect.sync(() => db.close())))
    ).pipe(Effect.map(({ db }) => db))
  )

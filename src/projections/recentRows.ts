/**
 * The rows a projection last wrote on its connection, kept in memory by key, so that its next
 * batch on the same call need not read and parse the row again: on a copy of the ingest figure's
 * file, the call view's `SELECT *` of a call with `JSON.parse` of its document took ~19 µs, a
 * lookup of one column by id ~7 µs (bench/README.md, seventh session of 2026-12-05).
 *
 * They are only as good as the file: `PRAGMA data_version` changes when another connection
 * commits to it (sqlite.org/pragma.html#pragma_data_version; a process sharing the file, or a
 * `TRUNCATE` checkpoint), and every row is then forgotten. Reading it outside a transaction costs
 * about what reading a row does (~8 to 12 µs in the ingest server's profile: it starts a read of
 * the WAL), so it is read once per batch (the owner calls `endBatch` when its batch ends; no other
 * connection commits while the batch's transaction holds the write lock). The owner forgets the rows
 * when its own transaction rolls back (`discard`) or its tables are reset. At most `capacity`
 * rows, the least recently written dropped first.
 */
import type { Statement } from "better-sqlite3"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"

export class RecentRows<V> {
  #rows = new Map<string, V>()
  #version: unknown = undefined
  /** Whether `data_version` was read in the running batch. */
  #checked = false
  readonly #dataVersion: Statement<[], number>
  readonly #capacity: number

  constructor(db: SqliteDatabase, capacity: number) {
    this.#dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck()
    this.#capacity = capacity
  }

  /** The row last written under `key`; call it inside the batch's transaction. */
  get(key: string): V | undefined {
    this.#checkOncePerBatch()
    return this.#rows.get(key)
  }

  /** Keeps `row` as written under `key`; call it inside the transaction that writes it. */
  set(key: string, row: V): void {
    this.#checkOncePerBatch()
    this.#rows.delete(key)
    this.#rows.set(key, row)
    if (this.#rows.size > this.#capacity) this.#rows.delete(this.#rows.keys().next().value!)
  }

  /** The batch is over (its `flush` ran): the next one reads `data_version` again. */
  endBatch(): void {
    this.#checked = false
  }

  /** Forgets every row and ends the batch (a rollback, a reset). */
  forget(): void {
    this.#checked = false
    if (this.#rows.size > 0) this.#rows = new Map()
  }

  /** No other connection commits while the batch's transaction holds the write lock, so once is enough. */
  #checkOncePerBatch(): void {
    if (this.#checked) return
    this.#checked = true
    const version = this.#dataVersion.get()
    if (version === this.#version) return
    this.#version = version
    if (this.#rows.size > 0) this.#rows = new Map()
  }
}

const kept = new WeakMap<SqliteDatabase, Map<string, RecentRows<unknown>>>()

/** Rows kept per projection and connection: a few times the calls live at once on a busy server. */
const rowsKept = 4_096

/**
 * The kept rows named `name` on `db` (up to 4,096), one set per connection: every instance of a
 * projection on a connection shares it, since its commits do not change that connection's
 * `data_version`.
 */
export const recentRowsOf = <V>(db: SqliteDatabase, name: string): RecentRows<V> => {
  let byName = kept.get(db)
  if (byName === undefined) {
    byName = new Map()
    kept.set(db, byName)
  }
  let rows = byName.get(name)
  if (rows === undefined) {
    rows = new RecentRows<unknown>(db, rowsKept)
    byName.set(name, rows)
  }
  return rows as RecentRows<V>
}

/**
 * Background WAL checkpoints. SQLite's automatic checkpoint runs inside the commit that crosses
 * `wal_autocheckpoint` pages: on the event loop, copying the WAL into the database file and
 * fsyncing both, so one write in a few hundred waited milliseconds for it and appends spent most
 * of their time there (`npm run bench`: append throughput, command latency p99).
 * Here a worker thread with its own connection to the file runs `PRAGMA wal_checkpoint(PASSIVE)`
 * (sqlite.org/wal.html, "Checkpointing"; sqlite.org/pragma.html#pragma_wal_checkpoint), which
 * never blocks a writer or a reader, so commits only append to the WAL. The ledger's connection
 * keeps a high automatic threshold as a backstop should the worker fall behind or die.
 * Durability is unchanged: a commit is in the WAL when it returns; the checkpoint only moves pages.
 * It checkpoints at most once per interval (100 ms): going again as soon as a checkpoint had moved
 * pages ran hundreds of checkpoints a second under load, each syncing the WAL and the database
 * file and copying the same hot pages again, which cost a third of a core in the ingest server
 * (`npm run bench`: HTTP ingest and append throughput each ~10 % higher at one per 100 ms).
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import type { SqliteDatabase } from "./sqliteDatabase.js"

/** WAL pages (4 KiB each) at which the ledger's own connection checkpoints anyway: 64 MiB. */
export const backstopCheckpointPages = 16_384

export interface WalCheckpointer {
  /** Stops the worker after its current checkpoint; resolves once its connection is closed. */
  readonly stop: () => Promise<void>
}

export interface WalCheckpointerOptions {
  /** Time between the worker's checkpoints, in ms. Default 100. */
  readonly intervalMillis?: number
}

// CommonJS, evaluated by the worker: `require` resolves better-sqlite3 from the path the ledger loaded.
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
db.pragma("synchronous = NORMAL")
let timer = null
let stopped = false
const checkpoint = () => {
  timer = null
  if (stopped) return
  try {
    db.pragma("wal_checkpoint(PASSIVE)")
  } catch {
    // The file is being closed or moved away; the ledger's backstop keeps checkpointing.
  }
  timer = setTimeout(checkpoint, workerData.intervalMillis)
}
parentPort.on("message", (message) => {
  if (message !== "stop") return
  stopped = true
  if (timer !== null) clearTimeout(timer)
  db.close()
  parentPort.close()
})
checkpoint()
`

/**
 * Starts checkpointing `db`'s file from a worker thread and raises the connection's own
 * threshold to the backstop. Does nothing for `:memory:` or a database not in WAL mode.
 */
export const startWalCheckpointer = (db: SqliteDatabase, options: WalCheckpointerOptions = {}): WalCheckpointer => {
  const path = db.name
  if (db.memory || String(db.pragma("journal_mode", { simple: true })) !== "wal") return { stop: () => Promise.resolve() }
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve("better-sqlite3"), intervalMillis: options.intervalMillis ?? 100 }
  })
  // The process may exit while the worker sleeps between checkpoints.
  worker.unref()
  db.pragma(`wal_autocheckpoint = ${backstopCheckpointPages}`)
  let exited = false
  const exit = new Promise<void>((resolve) => {
    worker.once("exit", () => {
      exited = true
      // Without the worker the connection checkpoints by itself again, at SQLite's default.
      if (db.open) db.pragma("wal_autocheckpoint = 1000")
      resolve()
    })
  })
  worker.on("error", () => {
    // Reported by the exit above; the backstop keeps the WAL bounded meanwhile.
  })
  return {
    stop: async () => {
      if (exited) return
      // Holds the process open until the worker has closed its connection.
      worker.ref()
      worker.postMessage("stop")
      await Promise.race([exit, new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref())])
      if (!exited) await worker.terminate()
    }
  }
}

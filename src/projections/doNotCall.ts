/**
 * The do-not-call list (seed 002: a workflow ends a call with `dnc_request`; seed 001 disposition
 * `dnd`). A contact's number joins the list when one of its calls is dispositioned `dnd` or ends
 * with reason `dnc_request`; the first such call is kept. Keeps each call's contact number in a
 * table of its own, so it can be rebuilt without the call view.
 */
import type Database from "better-sqlite3"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { asCallEvent } from "./projection.js"
import type { Projection } from "./projection.js"
import { toUtcInstant } from "./utcInstant.js"

/** Name of the do-not-call projection's checkpoint. */
export const doNotCallName = "do_not_call"

const schema = `
CREATE TABLE IF NOT EXISTS do_not_call (
  phone TEXT PRIMARY KEY,
  added_at TEXT NOT NULL,
  call_id TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS do_not_call_contacts (
  call_id TEXT PRIMARY KEY,
  phone TEXT NOT NULL
);
`

/** Why a number is on the list: the call's disposition was `dnd`, or it ended with reason `dnc_request`. */
export type DoNotCallReason = "dnd" | "dnc_request"

/** One entry: an E.164 number, when (ISO-8601, the event's time at its source) and by which call. */
export interface DoNotCallEntry {
  readonly phone: string
  readonly added_at: string
  readonly call_id: string
  readonly reason: DoNotCallReason
}

/** Creates the list's tables if missing (the projection does it too). */
export const ensureDoNotCallTables = (db: SqliteDatabase): void => {
  db.exec(schema)
}

/** The do-not-call projection (`do_not_call`, `do_not_call_contacts`). */
export const doNotCallProjection: Projection = (db) => {
  ensureDoNotCallTables(db)
  const remember = db.prepare("INSERT OR REPLACE INTO do_not_call_contacts (call_id, phone) VALUES (?, ?)")
  const phoneOf = db.prepare<[string], { phone: string }>("SELECT phone FROM do_not_call_contacts WHERE call_id = ?")
  const add = db.prepare("INSERT OR IGNORE INTO do_not_call (phone, added_at, call_id, reason) VALUES (?, ?, ?, ?)")
  const addFor = (callId: string, at: string, reason: DoNotCallReason): void => {
    const contact = phoneOf.get(callId)
    if (contact === undefined) throw new Error(`do-not-call: ${reason} for unknown call ${callId}`)
    add.run(contact.phone, toUtcInstant(at), callId, reason)
  }
  return {
    name: doNotCallName,
    eventTypes: new Set(["CallDialed", "CallDispositioned", "CallEnded"]),
    apply: (recorded) => {
      const event = asCallEvent(recorded)
      switch (event.type) {
        case "CallDialed":
          remember.run(event.data.callId, event.data.contact.phone)
          return
        case "CallDispositioned":
          if (event.data.disposition === "dnd") addFor(event.data.callId, event.data.at, "dnd")
          return
        case "CallEnded":
          if (event.data.reason === "dnc_request") addFor(event.data.callId, event.data.at, "dnc_request")
          return
        default:
          return
      }
    },
    reset: () => {
      db.exec("DELETE FROM do_not_call; DELETE FROM do_not_call_contacts;")
    }
  }
}

const statements = new WeakMap<SqliteDatabase, {
  readonly one: Database.Statement
  readonly all: Database.Statement
}>()

const statementsOf = (db: SqliteDatabase) => {
  let s = statements.get(db)
  if (s === undefined) {
    s = {
      one: db.prepare("SELECT 1 FROM do_not_call WHERE phone = ?"),
      all: db.prepare("SELECT phone, added_at, call_id, reason FROM do_not_call ORDER BY added_at, phone")
    }
    statements.set(db, s)
  }
  return s
}

/** True when the E.164 number is on the do-not-call list. */
export const isOnDoNotCallList = (db: SqliteDatabase, phone: string): boolean =>
  statementsOf(db).one.get(phone) !== undefined

/** The whole list, oldest entry first. */
export const readDoNotCallList = (db: SqliteDatabase): Array<DoNotCallEntry> =>
  statementsOf(db).all.all() as Array<DoNotCallEntry>

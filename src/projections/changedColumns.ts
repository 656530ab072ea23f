/**
 * Writes a stored row's changed columns only. An UPDATE rewrites only the indexes that use a column
 * it SETs: as a key, in an indexed expression, or in a partial index's WHERE (`calls_live`, on
 * status); SQLite's `src/update.c`, `indexColumnIsBeingUpdated` and `indexWhereClauseMightChange`.
 * So a live call's status change rewrites the row and its status indexes, not every index of the
 * table. `INSERT OR REPLACE` deletes the row and inserts it anew under a new rowid: every index and
 * two table pages each time.
 */
import type Database from "better-sqlite3"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"

/**
 * For `table` keyed by `keyColumn`: a function that writes the columns of `columns` whose value
 * in `row` differs from `stored`, and returns whether it wrote anything. One prepared UPDATE per
 * set of changed columns, kept.
 */
export const changedColumnsWriter = <Row extends object>(
  db: SqliteDatabase,
  table: string,
  keyColumn: keyof Row & string,
  columns: ReadonlyArray<keyof Row & string>
) => {
  const statements = new Map<string, Database.Statement>()
  const statementFor = (changed: ReadonlyArray<string>): Database.Statement => {
    const key = changed.join(",")
    let statement = statements.get(key)
    if (statement === undefined) {
      statement = db.prepare(`UPDATE ${table} SET ${changed.map((c) => `${c} = @${c}`).join(", ")} WHERE ${keyColumn} = @${keyColumn}`)
      statements.set(key, statement)
    }
    return statement
  }
  return (row: Row, stored: Row): boolean => {
    const changed = columns.filter((c) => c !== keyColumn && row[c] !== stored[c])
    if (changed.length === 0) return false
    const params: Record<string, unknown> = { [keyColumn]: row[keyColumn] }
    for (const c of changed) params[c] = row[c]
    statementFor(changed).run(params)
    return true
  }
}

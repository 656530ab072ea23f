/**
 * API keys, in the ledger's SQLite file (table `api_keys`). A key is `clk_` and 43 base64url
 * characters (256 random bits); only its SHA-256 is stored, so the key is shown once, at creation.
 * A high-entropy key needs no salt or slow hash: nobody can search 2^256 inputs. Revoking keeps the
 * row (for `keys list`) and takes effect on the next request, also in a running service.
 */
import { createHash, randomBytes } from "node:crypto"
import { Clock, Data, Effect } from "effect"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"
import { apiScopes, isApiScope } from "./apiScopes.js"
import type { ApiScope } from "./apiScopes.js"

/** A stored key, without its secret. Instants ISO-8601 UTC. */
export interface ApiKey {
  readonly id: string
  readonly name: string
  /** The key's first characters (`clk_` and 6 more), to recognise it in a list. */
  readonly prefix: string
  readonly scopes: ReadonlyArray<ApiScope>
  readonly createdAt: string
  readonly lastUsedAt: string | null
  readonly revokedAt: string | null
}

/** A new key with its secret, the only time the secret is known. */
export interface CreatedApiKey extends ApiKey {
  readonly key: string
}

/** A key's name or scopes are not acceptable; `field` names which. */
export class ApiKeyInvalid extends Data.TaggedError("ApiKeyInvalid")<{ readonly field: string; readonly message: string }> {}

/** No key with this id. */
export class ApiKeyNotFound extends Data.TaggedError("ApiKeyNotFound")<{ readonly id: string }> {}

export const apiKeyPrefix = "clk_"
const shownPrefixLength = apiKeyPrefix.length + 6
const maxNameLength = 200

interface ApiKeyRow {
  readonly id: string
  readonly name: string
  readonly key_prefix: string
  readonly scopes: string
  readonly created_at: number
  readonly last_used_at: number | null
  readonly revoked_at: number | null
}

/** Creates `api_keys` if missing. */
export const ensureApiKeyTable = (db: SqliteDatabase): void => {
  db.exec(`
    CREATE TABLE IF NOT EXISTS api_keys (
      id           TEXT PRIMARY KEY,
      name         TEXT NOT NULL,
      key_hash     TEXT NOT NULL UNIQUE,
      key_prefix   TEXT NOT NULL,
      scopes       TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      last_used_at INTEGER,
      revoked_at   INTEGER
    )
  `)
}

/** SHA-256 of a key, hex: what the table stores and looks keys up by. */
export const hashApiKey = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex")

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const toApiKey = (row: ApiKeyRow): ApiKey => ({
  id: row.id,
  name: row.name,
  prefix: row.key_prefix,
  scopes: (JSON.parse(row.scopes) as Array<string>).filter(isApiScope),
  createdAt: new Date(row.created_at).toISOString(),
  lastUsedAt: iso(row.last_used_at),
  revokedAt: iso(row.revoked_at)
})

const columns = "id, name, key_prefix, scopes, created_at, last_used_at, revoked_at"

/** Creates a key with a name and at least one scope; answers it with its secret. */
export const createApiKey = (input: { readonly name: string; readonly scopes: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const name = input.name.trim()
    if (name === "" || name.length > maxNameLength) {
      return yield* new ApiKeyInvalid({ field: "name", message: `a name of 1 to ${maxNameLength} characters is required` })
    }
    if (input.scopes.length === 0) {
      return yield* new ApiKeyInvalid({ field: "scope", message: `at least one scope is required: ${apiScopes.join(", ")}` })
    }
    const unknown = input.scopes.filter((s) => !isApiScope(s))
    if (unknown.length > 0) {
      return yield* new ApiKeyInvalid({ field: "scope", message: `unknown scope ${unknown.join(", ")}: one of ${apiScopes.join(", ")}` })
    }
    const scopes = apiScopes.filter((s) => input.scopes.includes(s))
    const db = yield* LedgerDatabase
    const now = yield* Clock.currentTimeMillis
    const key = `${apiKeyPrefix}${randomBytes(32).toString("base64url")}`
    const id = `key_${randomBytes(8).toString("hex")}`
    ensureApiKeyTable(db)
    db.prepare(`INSERT INTO api_keys (id, name, key_hash, key_prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(id, name, hashApiKey(key), key.slice(0, shownPrefixLength), JSON.stringify(scopes), now)
    const created: CreatedApiKey = {
      id, name, prefix: key.slice(0, shownPrefixLength), scopes, createdAt: new Date(now).toISOString(), lastUsedAt: null, revokedAt: null, key
    }
    return created
  })

/** Every key, revoked ones too, oldest first. */
export const listApiKeys = Effect.gen(function*() {
  const db = yield* LedgerDatabase
  ensureApiKeyTable(db)
  return (db.prepare(`SELECT ${columns} FROM api_keys ORDER BY created_at, id`).all() as Array<ApiKeyRow>).map(toApiKey)
})

/** Revokes a key (again: a no-op that keeps the first revocation time). */
export const revokeApiKey = (id: string) =>
  Effect.gen(function*() {
    const db = yield* LedgerDatabase
    const now = yield* Clock.currentTimeMillis
    ensureApiKeyTable(db)
    db.prepare(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`).run(now, id)
    const row = db.prepare(`SELECT ${columns} FROM api_keys WHERE id = ?`).get(id) as ApiKeyRow | undefined
    if (row === undefined) return yield* new ApiKeyNotFound({ id })
    return toApiKey(row)
  })

/**
 * Looks keys up for the API: `find` answers the key a secret belongs to, or null when there is none
 * or it is revoked; `touch` records a use (at most once a minute per key, to spare the file writes).
 */
export const apiKeyLookup = (db: SqliteDatabase) => {
  ensureApiKeyTable(db)
  const byHash = db.prepare(`SELECT ${columns} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL`)
  const touchStatement = db.prepare(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`)
  const touchedAt = new Map<string, number>()
  return {
    find: (key: string): ApiKey | null => {
      if (!key.startsWith(apiKeyPrefix)) return null
      const row = byHash.get(hashApiKey(key)) as ApiKeyRow | undefined
      return row === undefined ? null : toApiKey(row)
    },
    touch: (id: string, nowMillis: number): void => {
      if (nowMillis - (touchedAt.get(id) ?? 0) < 60_000) return
      touchedAt.set(id, nowMillis)
      touchStatement.run(nowMillis, id)
    }
  }
}

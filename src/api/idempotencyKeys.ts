/**
 * `Idempotency-Key` for the API's creating and controlling requests: the same key with the same
 * request (method, path and body) answers the first response again, without doing anything; the
 * same key with a different request is a 422 (`IdempotencyKeyReused`). Keys live in the table
 * `idempotency_keys` of the ledger's SQLite file with the request's fingerprint (SHA-256 of method,
 * path and the body as canonical JSON) and the response.
 *
 * A key is reserved before the request runs, so concurrent retries wait for the first one and
 * answer its response. Only successes are kept: when the request fails, the reservation is dropped
 * and nothing stays written, so a retry after an error runs again. Reservations left by a process
 * that stopped mid-request are dropped when the next one opens the file.
 *
 * A key is kept for a time to live (`LEDGER_IDEMPOTENCY_KEY_TTL_MS`, 24 hours by default, the
 * window Stripe keeps its keys): afterwards it is forgotten, and a request with it runs as new,
 * as the Idempotency-Key draft allows (draft-ietf-httpapi-idempotency-key-header, "expiry"). A
 * background fiber deletes the forgotten rows, so the table holds about a day of keys instead of
 * every key ever sent.
 */
import { Clock, Context, Duration, Effect, Exit, Layer } from "effect"
import { createHash } from "node:crypto"
import { pruneInChunksPeriodically } from "../store/sqlite/periodicPruning.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import { IdempotencyKeyReused, IdempotentRequestInProgress } from "./apiErrors.js"
import { nowIso } from "./currentInstant.js"

const schema = `
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  response TEXT,
  created_at TEXT NOT NULL,
  completed_at TEXT
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_created ON idempotency_keys (created_at);
`

/** How long a key is answered again by default: 24 hours, in ms. */
export const defaultIdempotencyKeyTtlMillis = 86_400_000

/** Expired keys deleted per statement, so the pruning never holds the write lock long. */
const keysPerPruneChunk = 1_000

/** How long a retry waits for the first request with its key to finish before answering 409. */
const inFlightWaitMillis = 10_000
const pollMillis = 20

/** The request a key is bound to. `body` is the decoded payload (key order does not matter). */
export interface IdempotentRequest {
  readonly method: string
  readonly path: string
  readonly body: unknown
}

/** JSON with object keys sorted, so equal bodies give equal fingerprints. */
const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/** SHA-256 (hex) of method, path and canonical body. */
export const requestFingerprint = (request: IdempotentRequest): string =>
  createHash("sha256").update(`${request.method.toUpperCase()} ${request.path}\n${canonicalJson(request.body)}`).digest("hex")

export interface IdempotencyKeysService {
  /**
   * Runs `effect` once per key: without a key, just runs it. With one, answers the stored response
   * of an earlier success of the same request within the key's time to live, fails with
   * `IdempotencyKeyReused` for a different request, waits for a concurrent one, or runs `effect`
   * and stores what it returns (JSON).
   */
  readonly once: <A, E, R>(
    key: string | undefined,
    request: IdempotentRequest,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | IdempotencyKeyReused | IdempotentRequestInProgress, R>
}

export class IdempotencyKeys extends Context.Tag("call-ledger/IdempotencyKeys")<IdempotencyKeys, IdempotencyKeysService>() {}

interface KeyRow {
  readonly fingerprint: string
  readonly method: string
  readonly path: string
  readonly response: string | null
  readonly created_at: string
}

/**
 * The service over the table `idempotency_keys` (created if missing), keeping each key for
 * `ttlMillis` (default 24 hours; at least 1 ms) after its request was first received. Deletes
 * the expired keys every `min(ttl, 10 minutes)` (at least every second) while the layer's scope
 * is open.
 */
export const idempotencyKeysLayer = (ttlMillis: number = defaultIdempotencyKeyTtlMillis): Layer.Layer<IdempotencyKeys, never, LedgerDatabase> =>
  Layer.scoped(
    IdempotencyKeys,
    Effect.gen(function*() {
      const ttl = Math.max(1, Math.floor(ttlMillis))
      const db = yield* LedgerDatabase
      db.exec(schema)
      db.exec("DELETE FROM idempotency_keys WHERE response IS NULL")
      const find = db.prepare<[string], KeyRow>("SELECT fingerprint, method, path, response, created_at FROM idempotency_keys WHERE key = ?")
      const forget = db.prepare("DELETE FROM idempotency_keys WHERE key = ? AND created_at < ? AND response IS NOT NULL")
      const deleteExpired = db.prepare(
        `DELETE FROM idempotency_keys WHERE rowid IN (
           SELECT rowid FROM idempotency_keys WHERE created_at < ? AND response IS NOT NULL ORDER BY created_at LIMIT ${keysPerPruneChunk})`
      )
      /** Instants before this one are expired: now minus the time to live, ISO-8601 like `created_at`. */
      const expiredBefore = Effect.map(Clock.currentTimeMillis, (now) => new Date(now - ttl).toISOString())
      yield* Effect.forkScoped(pruneInChunksPeriodically({
        label: "idempotency keys",
        retentionMillis: ttl,
        longestPeriodMillis: 600_000,
        deleteChunk: (cutoff) => deleteExpired.run(new Date(cutoff).toISOString()).changes,
        chunkSize: keysPerPruneChunk
      }))
      const reserve = db.prepare(
        "INSERT OR IGNORE INTO idempotency_keys (key, fingerprint, method, path, response, created_at) VALUES (?, ?, ?, ?, NULL, ?)"
      )
      const complete = db.prepare("UPDATE idempotency_keys SET response = ?, completed_at = ? WHERE key = ? AND response IS NULL")
      const release = db.prepare("DELETE FROM idempotency_keys WHERE key = ? AND response IS NULL")

      const once = <A, E, R>(key: string | undefined, request: IdempotentRequest, effect: Effect.Effect<A, E, R>) => {
        if (key === undefined) return effect
        const fingerprint = requestFingerprint(request)
        const reused = (row: KeyRow) =>
          new IdempotencyKeyReused({
            message: `Idempotency-Key "${key}" was used for a different request (${row.method} ${row.path} with another body); use a new key`,
            idempotency_key: key
          })
        const attempt: Effect.Effect<{ readonly done: true; readonly value: A } | { readonly done: false }, E | IdempotencyKeyReused, R> =
          Effect.gen(function*() {
            const cutoff = yield* expiredBefore
            let row = find.get(key)
            if (row !== undefined && row.response !== null && row.created_at < cutoff) {
              // Expired but not pruned yet: forgotten here, so expiry does not wait for the pruning.
              // Read again: what is there now (nothing, or a request that took the key since) counts.
              forget.run(key, cutoff)
              row = find.get(key)
            }
            if (row !== undefined) {
              if (row.fingerprint !== fingerprint) return yield* Effect.fail(reused(row))
              if (row.response !== null) return { done: true as const, value: JSON.parse(row.response) as A }
              return { done: false as const }
            }
            if (reserve.run(key, fingerprint, request.method.toUpperCase(), request.path, yield* nowIso).changes === 0) {
              return { done: false as const }
            }
            const value = yield* effect.pipe(
              Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => release.run(key))))
            )
            // What the client gets is what a retry gets: the value as JSON, read back.
            const stored = JSON.stringify(value)
            complete.run(stored, yield* nowIso, key)
            return { done: true as const, value: JSON.parse(stored) as A }
          })
        const loop = (deadline: number): Effect.Effect<A, E | IdempotencyKeyReused | IdempotentRequestInProgress, R> =>
          Effect.flatMap(attempt, (result) => {
            if (result.done) return Effect.succeed(result.value)
            return Effect.flatMap(Clock.currentTimeMillis, (now) =>
              now > deadline
                ? Effect.fail(new IdempotentRequestInProgress({
                  message: `a request with Idempotency-Key "${key}" is still being processed; retry later`,
                  idempotency_key: key
                }))
                : Effect.zipRight(Effect.sleep(Duration.millis(pollMillis)), loop(deadline)))
          })
        return Effect.flatMap(Clock.currentTimeMillis, (now) => loop(now + inFlightWaitMillis))
      }
      return { once } satisfies IdempotencyKeysService
    })
  )

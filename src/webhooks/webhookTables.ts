/**
 * The webhook tables in the ledger's SQLite file. Instants are integers in ms since the epoch.
 * - `webhook_endpoints`: subscriptions; `delete` only disables (deliveries keep their endpoint).
 * - `webhook_deliveries`: the outbox; one row per (event, endpoint), written by the outbox
 *   projection in the projection transaction, so it is durable before its first attempt, and
 *   deleted once finished and past its retention (`webhookRetention.ts`).
 *   `status`: pending | delivered | failed | canceled (endpoint disabled).
 *   `attempt_count` counts every attempt; `schedule_step` the attempts since the last (re)start of
 *   the retry schedule, which a manual redelivery resets.
 * - `webhook_attempts`: one row per HTTP attempt with its outcome, deleted with its delivery.
 * - `webhook_outbox_high_water`: the furthest log position the outbox had applied when it was last
 *   reset; a replay writes no delivery for an event at or before it (`webhookOutbox.ts`).
 * - `webhook_endpoints_generation`: one row counting the changes to `webhook_endpoints` (inserts,
 *   updates, deletes), kept by triggers, so every process on the file sees a change made by any of them.
 */
import type { Statement } from "better-sqlite3"
import type { SqliteDatabase } from "../store/sqlite/sqliteDatabase.js"

const ddl = `
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_until INTEGER,
  event_types TEXT NOT NULL,
  description TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER,
  disabled_reason TEXT
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  call_id TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  schedule_step INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  created_at INTEGER NOT NULL,
  last_attempt_at INTEGER,
  last_status_code INTEGER,
  last_error TEXT,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, endpoint_id, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_call ON webhook_deliveries (call_id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries (created_at);
CREATE TABLE IF NOT EXISTS webhook_attempts (
  delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  response_snippet TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
CREATE TABLE IF NOT EXISTS webhook_outbox_high_water (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  position TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_endpoints_generation (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO webhook_endpoints_generation (id, generation) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS webhook_endpoints_inserted AFTER INSERT ON webhook_endpoints
BEGIN UPDATE webhook_endpoints_generation SET generation = generation + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS webhook_endpoints_updated AFTER UPDATE ON webhook_endpoints
BEGIN UPDATE webhook_endpoints_generation SET generation = generation + 1 WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS webhook_endpoints_deleted AFTER DELETE ON webhook_endpoints
BEGIN UPDATE webhook_endpoints_generation SET generation = generation + 1 WHERE id = 0; END;
`

const ready = new WeakSet<SqliteDatabase>()

/** Creates the webhook tables if missing (idempotent, once per connection). */
export const ensureWebhookTables = (db: SqliteDatabase): void => {
  if (ready.has(db)) return
  db.exec(ddl)
  ready.add(db)
}

const generationStatements = new WeakMap<SqliteDatabase, Statement<[], number>>()

/**
 * How many times a row of `webhook_endpoints` was inserted, updated or deleted, by any connection
 * to the file (a new endpoint, a disable, a secret rotation). The dispatcher reads a delivery's
 * endpoint when it queues the delivery, and reads it again before sending only when this count
 * moved in between; the outbox reads the endpoints again only when it moved.
 */
export const webhookEndpointsGeneration = (db: SqliteDatabase): number => {
  let statement = generationStatements.get(db)
  if (statement === undefined) {
    ensureWebhookTables(db)
    statement = db.prepare<[], number>("SELECT generation FROM webhook_endpoints_generation WHERE id = 0").pluck()
    generationStatements.set(db, statement)
  }
  return statement.get()!
}

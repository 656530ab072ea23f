/** The log and the ledger file, without projections or webhooks running: for replay and audit scripts. */
import { Layer } from "effect"
import type { EventStore } from "../store/eventStore.js"
import { esdbEventStoreLayer } from "../store/esdb/esdbEventStore.js"
import { SqliteEventStoreLive } from "../store/sqlite/sqliteEventStore.js"
import { ledgerDatabaseLayer } from "../store/sqlite/sqliteDatabase.js"
import type { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"

/** The event store the `store` setting names: `sqlite` (the ledger file) or an `esdb://` connection string. */
export const eventStoreLayer = (store: string): Layer.Layer<EventStore, never, LedgerDatabase> => {
  if (store === "sqlite") return SqliteEventStoreLive
  if (/^(esdb|esdb\+discover):\/\//.test(store)) return esdbEventStoreLayer(store)
  throw new Error(`unsupported store ${store}: use sqlite or an esdb:// connection string`)
}

/** `LedgerDatabase` and `EventStore` for one settings pair. */
export const ledgerStoreLayer = (store: string, databasePath: string): Layer.Layer<EventStore | LedgerDatabase> =>
  eventStoreLayer(store).pipe(Layer.provideMerge(ledgerDatabaseLayer(databasePath)))

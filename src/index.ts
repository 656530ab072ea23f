/**
 * call-ledger as a library. Effect users build `callLedgerLayer(config)` and use the `CallLedger`
 * service; others call `openCallLedger(settings)`. The domain (events, commands, decider), the
 * `EventStore` port with its adapters, the projections' queries and the webhook functions are
 * exported for replay and audit scripts and for embedding services with needs of their own.
 */
export * from "./domain/index.js"
export * from "./store/eventStore.js"
export { comparePositions, positionFromString, positionToString } from "./store/position.js"
export { handleCallCommand, eventIdFor } from "./store/callCommandHandler.js"
export type { CommandContext, CommandResult } from "./store/callCommandHandler.js"
export { makeMemoryEventStore, MemoryEventStoreLive } from "./store/memory/memoryEventStore.js"
export { makeSqliteEventStore, SqliteEventStoreLive } from "./store/sqlite/sqliteEventStore.js"
export { LedgerDatabase, ledgerDatabaseLayer, openSqliteDatabase } from "./store/sqlite/sqliteDatabase.js"
export type { SqliteDatabase } from "./store/sqlite/sqliteDatabase.js"
export { esdbEventStoreFromClient, esdbEventStoreLayer, makeEsdbEventStore } from "./store/esdb/esdbEventStore.js"
export * as Projections from "./projections/index.js"
export * as Webhooks from "./webhooks/index.js"
export { CallLedger } from "./api/callLedger.js"
export type { CallLedgerService, CallListFilter, CallListPage } from "./api/callLedger.js"
export { callLedgerLayer, ledgerProjections } from "./api/callLedgerLayer.js"
export { makeLedgerConfig } from "./api/ledgerConfig.js"
export { turnOffAllocationSitePretenuring } from "./api/v8Flags.js"
export type { LedgerConfig } from "./api/ledgerConfig.js"
export { openCallLedger } from "./api/openCallLedger.js"
export type { CallLedgerClient, CallLedgerSettings } from "./api/openCallLedger.js"
export { CallLedgerApi } from "./api/callsApi.js"
export { httpServerLayer, apiRoutesLayer } from "./api/httpServer.js"
export type { HttpServerLayerOptions } from "./api/httpServer.js"

/**
 * `call-ledger replay`: rebuilds read models from zero by replaying the log (all of them, or those
 * named with `--projection`). Run it with the service stopped. The webhook outbox keeps its
 * deliveries and writes none for an event it applied before (its high-water mark), so a replay
 * neither resends nor loses a webhook, nor brings back one deleted after its retention.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import { ledgerProjections } from "../api/callLedgerLayer.js"
import { makeLedgerConfig } from "../api/ledgerConfig.js"
import { ledgerStoreLayer } from "../api/ledgerStoreLayer.js"
import { callStatsName, callViewName, doNotCallName, makeProjectionRunner, transcriptViewName } from "../projections/index.js"
import { EventStore } from "../store/eventStore.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import { positionToString } from "../store/position.js"
import { dbOption, storeOption } from "./storeOptions.js"

const projection = Options.text("projection").pipe(
  Options.withDescription("A read model to rebuild (call_view, transcript, call_stats, do_not_call); repeatable; default all"),
  Options.repeated
)

/** The ledger's read models (`allProjections`), by checkpoint name; the webhook projections are never replayed by default. */
const readModels = [callViewName, transcriptViewName, callStatsName, doNotCallName]

export const replayCommand = Command.make("replay", { store: storeOption, db: dbOption, projection }, (o) =>
  Effect.gen(function*() {
    const db = yield* LedgerDatabase
    const store = yield* EventStore
    const runner = yield* makeProjectionRunner(db, store, ledgerProjections(makeLedgerConfig()))
    const started = Date.now()
    const result = yield* runner.rebuild(o.projection.length > 0 ? o.projection : readModels)
    const seconds = (Date.now() - started) / 1000
    yield* Console.log(
      `rebuilt ${result.projections.join(", ")} from ${result.events} events in ${seconds.toFixed(1)} s` +
        ` (${Math.round(result.events / Math.max(seconds, 0.001))} events/s), position ${result.position === null ? "none" : positionToString(result.position)}`
    )
  }).pipe(Effect.provide(ledgerStoreLayer(o.store, o.db)))
).pipe(Command.withDescription("Rebuild read models from zero by replaying the log (stop the service first)"))

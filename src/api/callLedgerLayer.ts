/**
 * Builds the whole ledger from its settings: the SQLite file, the event store (embedded SQLite or
 * EventStoreDB), the projections (call view, transcript, stats, do-not-call, then the webhook
 * outbox that reads the call view), the webhook dispatcher woken after each projected batch, and
 * the `CallLedger` facade over them.
 */
import { Effect, Layer } from "effect"
import { handleCallCommand } from "../store/callCommandHandler.js"
import { EventStore } from "../store/eventStore.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import { ledgerStoreLayer } from "./ledgerStoreLayer.js"
import { allProjections, listCalls, Projections, projectionsLayer, readCallView, readCallStats, readLiveCalls, readTranscript, isOnDoNotCallList, InvalidCallQuery } from "../projections/index.js"
import type { Projection } from "../projections/index.js"
import type { CallView } from "../projections/callViewSchema.js"
import { webhookOutboxProjection } from "../webhooks/webhookOutbox.js"
import { WebhookDispatcher, webhookDispatcherLayer } from "../webhooks/webhookDispatcher.js"
import { CallLedger } from "./callLedger.js"
import type { CallLedgerService } from "./callLedger.js"
import { presentCall } from "./callPresenter.js"
import type { LedgerConfig } from "./ledgerConfig.js"
import { LedgerSettings } from "./ledgerConfig.js"

/** How long a write waits for the projections before answering anyway. */
const readYourWritesTimeout = "5 seconds"

const callLedgerService = Layer.effect(
  CallLedger,
  Effect.gen(function*() {
    const db = yield* LedgerDatabase
    const store = yield* EventStore
    const projections = yield* Projections
    const findBySid = db.prepare("SELECT id FROM calls WHERE call_sid = ? LIMIT 1")
    const service: CallLedgerService = {
      execute: (command, context) =>
        handleCallCommand(command, context).pipe(
          Effect.provideService(EventStore, store),
          Effect.tap((result) =>
            result.position === null ? Effect.void : projections.waitFor(result.position, readYourWritesTimeout).pipe(Effect.orDie)
          )
        ),
      getCall: (callId) => Effect.sync(() => readCallView(db, callId)),
      findCallIdBySid: (callSid) => Effect.sync(() => (findBySid.get(callSid) as { id: string } | undefined)?.id ?? null),
      listCalls: (filter) =>
        Effect.try({
          try: () => {
            const limit = filter.limit ?? 20
            const offset = filter.offset ?? 0
            const page = listCalls(db, { ...filter, limit, offset })
            return { data: page.data, total: page.total, limit, offset, nextCursor: page.next_cursor, hasMore: page.has_more }
          },
          catch: (error) => {
            if (error instanceof InvalidCallQuery) {
              const field = /cursor/i.test(error.message) ? "cursor" : /limit/i.test(error.message) ? "limit" : /offset/i.test(error.message) ? "offset" : "query"
              return { _tag: "InvalidQuery" as const, field, message: error.message }
            }
            throw error
          }
        }),
      getTranscript: (callId) => Effect.sync(() => readTranscript(db, callId)),
      stats: (filter) => Effect.sync(() => readCallStats(db, filter)),
      liveCalls: () => Effect.sync(() => readLiveCalls(db)),
      isOnDoNotCallList: (phone) => Effect.sync(() => isOnDoNotCallList(db, phone)),
      projectedPosition: Effect.sync(() => projections.position())
    }
    return service
  })
)

/** Wakes the dispatcher after each committed projection batch, so new deliveries go out at once. */
const wakeDispatcherOnBatch = Layer.scopedDiscard(
  Effect.gen(function*() {
    const projections = yield* Projections
    const dispatcher = yield* WebhookDispatcher
    const remove = projections.onBatch(() => dispatcher.wake())
    yield* Effect.addFinalizer(() => Effect.sync(remove))
  })
)

/** Every projection of an instance, in order: the read models, then the webhook outbox that reads the call view. */
export const ledgerProjections = (config: Pick<LedgerConfig, "publicUrl" | "signingKey">): ReadonlyArray<Projection> => [
  ...allProjections,
  webhookOutboxProjection({
    loadCallView: readCallView,
    // The body is written once; its recording URL is signed from the event's own time, not the clock.
    present: (view) => presentCall(view as CallView, config, Date.parse((view as CallView).updated_at))
  })
]

/** The ledger's services for one instance: `CallLedger`, `LedgerSettings`, `LedgerDatabase`, `EventStore`, `Projections`, `WebhookDispatcher`. */
export const callLedgerLayer = (config: LedgerConfig) => {
  const store = ledgerStoreLayer(config.store, config.databasePath)
  const projections = projectionsLayer(ledgerProjections(config)).pipe(Layer.provideMerge(store))
  const dispatcher = webhookDispatcherLayer({
    retryScheduleMillis: config.webhooks.retryScheduleMillis,
    timeoutMillis: config.webhooks.timeoutMillis,
    maxConcurrency: config.webhooks.concurrency,
    concurrencyPerEndpoint: config.webhooks.endpointConcurrency,
    requestFiltering: { allowLoopback: config.webhooks.allowLoopback, allowPrivateNetworks: config.webhooks.allowPrivateNetworks }
  }).pipe(Layer.provideMerge(projections))
  return Layer.mergeAll(callLedgerService, wakeDispatcherOnBatch).pipe(
    Layer.provideMerge(dispatcher),
    Layer.provideMerge(Layer.succeed(LedgerSettings, config))
  )
}

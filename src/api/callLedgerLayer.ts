/**
 * Builds the whole ledger from its settings: the SQLite file, the event store (embedded SQLite or
 * EventStoreDB), the projections (call view, transcript, stats, do-not-call, the webhook
 * endpoints, then the webhook outbox that reads the call view and the endpoints), the webhook
 * dispatcher woken after each projected batch that wrote deliveries (sharing deliveries with the
 * other instances through claims in the log on EventStoreDB), and the `CallLedger` facade over them.
 */
import { Effect, Layer } from "effect"
import { callStreamId } from "../domain/callEvents.js"
import type { CallEventData } from "../domain/callEvents.js"
import { decideCallCommand, handleCallCommand } from "../store/callCommandHandler.js"
import { EventStore } from "../store/eventStore.js"
import type { ReadStreamOptions, RecordedEvent, StreamDeleted } from "../store/eventStore.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import { turnOffAllocationSitePretenuring } from "./v8Flags.js"
import { ledgerStoreLayer } from "./ledgerStoreLayer.js"
import { allProjections, listCalls, Projections, projectionsLayer, readCallView, readCallViews, readStoredCallView, readCallStats, readLiveCalls, readTranscript, isOnDoNotCallList, InvalidCallQuery } from "../projections/index.js"
import type { CallListPage as ProjectedCallPage, Projection } from "../projections/index.js"
import type { CallView } from "../projections/callViewSchema.js"
import { webhookOutboxProjection } from "../webhooks/webhookOutbox.js"
import { WebhookDispatcher, webhookDispatcherLayer } from "../webhooks/webhookDispatcher.js"
import { defaultClaimLeaseMillis } from "../webhooks/webhookDeliveryClaims.js"
import { publishLocalWebhookEndpoints } from "../webhooks/webhookEndpoints.js"
import { webhookEndpointsProjection } from "../webhooks/webhookEndpointsProjection.js"
import { agentQueuesLayer } from "./agentQueues.js"
import { CallLedger } from "./callLedger.js"
import { noDialerLayer } from "./dialer/dialer.js"
import type { Dialer } from "./dialer/dialer.js"
import { dialQueueLayer } from "./dialer/dialQueue.js"
import { simulatedDialerLayer } from "./dialer/simulatedDialer.js"
import { idempotencyKeysLayer } from "./idempotencyKeys.js"
import type { CallLedgerService, CallListPage } from "./callLedger.js"
import { presentCall } from "./callPresenter.js"
import type { LedgerConfig } from "./ledgerConfig.js"
import { LedgerSettings } from "./ledgerConfig.js"

/** How long a write waits for the projections before answering anyway. */
const readYourWritesTimeout = "5 seconds"

/**
 * The projection's page with the API's paging fields; `data` is parsed only when read. A class,
 * not a literal with a getter closure, for the reason `StoredCallPage` gives (`callView.ts`).
 */
class LedgerCallPage implements CallListPage {
  readonly stored: ProjectedCallPage["stored"]
  readonly total: number
  readonly nextCursor: string | null
  readonly hasMore: boolean
  constructor(private readonly page: ProjectedCallPage, readonly limit: number, readonly offset: number) {
    this.stored = page.stored
    this.total = page.total
    this.nextCursor = page.next_cursor
    this.hasMore = page.has_more
  }
  get data() {
    return this.page.data
  }
}

const callLedgerService = Layer.effect(
  CallLedger,
  Effect.gen(function*() {
    const db = yield* LedgerDatabase
    const store = yield* EventStore
    const projections = yield* Projections
    const findBySid = db.prepare("SELECT id FROM calls WHERE call_sid = ? LIMIT 1")
    const callHistory = (callId: string, page?: ReadStreamOptions) => {
      const streamId = callStreamId(callId)
      return store.readStream(streamId, page).pipe(
        Effect.flatMap((events): Effect.Effect<ReadonlyArray<RecordedEvent> | null, StreamDeleted> => {
          if (events.length > 0) return Effect.succeed(events)
          // Nothing read from the first event on: no such call. Any other empty page may lie past
          // the call's last event, which one more read tells.
          const readFromStart = (page?.fromRevision ?? 0n) === 0n && page?.maxCount !== 0
          if (readFromStart) return Effect.succeed(null)
          return Effect.map(store.readStream(streamId, { maxCount: 1 }), (first) => (first.length === 0 ? null : events))
        }),
        Effect.catchTag("StreamDeleted", () => Effect.succeed(null))
      )
    }
    const service: CallLedgerService = {
      execute: (command, context) =>
        handleCallCommand(command, context).pipe(
          Effect.provideService(EventStore, store),
          Effect.tap((result) =>
            result.position === null ? Effect.void : projections.waitFor(result.position, readYourWritesTimeout).pipe(Effect.orDie)
          )
        ),
      decide: (command) => decideCallCommand(command).pipe(Effect.provideService(EventStore, store)),
      getCall: (callId) => Effect.sync(() => readCallView(db, callId)),
      getStoredCall: (callId) => Effect.sync(() => readStoredCallView(db, callId)),
      getCalls: (callIds) => Effect.sync(() => readCallViews(db, callIds)),
      callHistory,
      recording: (callId) =>
        Effect.map(callHistory(callId), (events) => {
          const attached = events?.findLast((e) => e.type === "CallRecordingAttached")
          if (attached === undefined) return null
          const { recordingRef, contentType, durationSeconds } = attached.data as CallEventData<"CallRecordingAttached">
          return { recordingRef, contentType, durationSeconds }
        }),
      findCallIdBySid: (callSid) => Effect.sync(() => (findBySid.get(callSid) as { id: string } | undefined)?.id ?? null),
      listCalls: (filter) =>
        Effect.try({
          try: () => {
            const limit = filter.limit ?? 20
            // A cursor continues where the last page ended; an offset beside it is ignored, so it is answered as 0.
            const offset = filter.cursor === undefined ? filter.offset ?? 0 : 0
            return new LedgerCallPage(listCalls(db, { ...filter, limit, offset }), limit, offset)
          },
          catch: (error) => {
            if (error instanceof InvalidCallQuery) {
              return { _tag: "InvalidQuery" as const, field: error.field, message: error.message }
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

/** Set by the outbox projection when a batch wrote deliveries; cleared when the dispatcher is woken for them. */
interface NewDeliveries {
  written: boolean
}

/**
 * Wakes the dispatcher after a committed projection batch that wrote deliveries, so they go out at
 * once. Batches without any (most of them) leave it asleep: a wake-up scans the endpoints and the
 * due deliveries, ~4 to 8 % of a command's CPU when every batch woke it (`npm run bench`, ingest).
 */
const wakeDispatcherOnNewDeliveries = (deliveries: NewDeliveries) => Layer.scopedDiscard(
  Effect.gen(function*() {
    const projections = yield* Projections
    const dispatcher = yield* WebhookDispatcher
    const remove = projections.onBatch(() => {
      if (!deliveries.written) return
      deliveries.written = false
      dispatcher.wake()
    })
    yield* Effect.addFinalizer(() => Effect.sync(remove))
  })
)

/** Endpoints this file had before they lived in the log are published to it once, at start. */
const publishLocalEndpoints = Layer.effectDiscard(
  publishLocalWebhookEndpoints.pipe(
    Effect.tap((n) => (n > 0 ? Effect.logInfo(`published ${n} webhook endpoints of this file to the log`) : Effect.void)),
    Effect.catchAllCause((cause) => Effect.logError("webhook endpoints of this file not published to the log", cause))
  )
)

/**
 * Every projection of an instance, in order: the read models, the webhook endpoints, then the
 * webhook outbox that reads the call view and the endpoints. `onDeliveryWritten` is the outbox's
 * (`WebhookOutboxOptions`): a dispatcher in the same process wakes on it.
 */
export const ledgerProjections = (
  config: Pick<LedgerConfig, "publicUrl" | "signingKey">,
  onDeliveryWritten?: () => void
): ReadonlyArray<Projection> => [
  ...allProjections,
  webhookEndpointsProjection,
  webhookOutboxProjection({
    onDeliveryWritten,
    loadCallView: readCallView,
    // The body is written once; its recording URL is signed from the event's own time, not the clock.
    present: (view) => presentCall(view as CallView, config, Date.parse((view as CallView).updated_at))
  })
]

/**
 * Placing and controlling calls: the `Dialer` (`LEDGER_DIALER`), the paced `DialQueue` (which
 * resumes the numbers still queued), the `AgentQueues` and the `IdempotencyKeys`.
 */
const callControlLayer = (config: LedgerConfig, options: CallLedgerOptions) => {
  const dialer = options.dialer ?? (config.dialer.kind === "simulated"
    ? simulatedDialerLayer({ stepMillis: config.dialer.simulatedStepMillis })
    : noDialerLayer)
  return Layer.mergeAll(dialQueueLayer, agentQueuesLayer(config.agentQueues), idempotencyKeysLayer(config.idempotencyKeyTtlMillis)).pipe(
    Layer.provideMerge(dialer)
  )
}

/** What an embedding service can plug in. */
export interface CallLedgerOptions {
  /** A telephony integration (a layer of the `Dialer` port); it wins over `config.dialer.kind`. */
  readonly dialer?: Layer.Layer<Dialer, never, CallLedger | LedgerSettings> | undefined
}

/**
 * The ledger's services for one instance: `CallLedger`, `LedgerSettings`, `LedgerDatabase`,
 * `EventStore`, `Projections`, `WebhookDispatcher`, and `Dialer`, `DialQueue`, `AgentQueues`,
 * `IdempotencyKeys`. Building it first turns V8's allocation-site pretenuring off for the process
 * (`v8Flags.ts` says why and how to keep it).
 */
export const callLedgerLayer = (config: LedgerConfig, options: CallLedgerOptions = {}) =>
  // Unwrapped at each build, so two builds of one layer value do not share the outbox's flag.
  Layer.unwrapEffect(Effect.sync(() => buildCallLedgerLayer(config, options, { written: false })))

const buildCallLedgerLayer = (config: LedgerConfig, options: CallLedgerOptions, deliveries: NewDeliveries) => {
  const store = ledgerStoreLayer(config.store, config.databasePath).pipe(
    Layer.provideMerge(Layer.effectDiscard(Effect.sync(turnOffAllocationSitePretenuring)))
  )
  const projections = projectionsLayer(ledgerProjections(config, () => {
    deliveries.written = true
  })).pipe(Layer.provideMerge(store))
  const dispatcher = webhookDispatcherLayer({
    retryScheduleMillis: config.webhooks.retryScheduleMillis,
    timeoutMillis: config.webhooks.timeoutMillis,
    maxConcurrency: config.webhooks.concurrency,
    concurrencyPerEndpoint: config.webhooks.endpointConcurrency,
    requestFiltering: { allowLoopback: config.webhooks.allowLoopback, allowPrivateNetworks: config.webhooks.allowPrivateNetworks },
    retentionMillis: config.webhooks.retentionMillis,
    // On EventStoreDB several instances share the log, so they share deliveries by claims in it;
    // the embedded file has one process, which owns every delivery.
    ...(config.store === "sqlite" ? {} : {
      sharedClaims: { leaseMillis: config.webhooks.claimLeaseMillis ?? defaultClaimLeaseMillis(config.webhooks.timeoutMillis) }
    })
  }).pipe(Layer.provideMerge(projections))
  const ledger = Layer.mergeAll(callLedgerService, wakeDispatcherOnNewDeliveries(deliveries), publishLocalEndpoints).pipe(
    Layer.provideMerge(dispatcher),
    Layer.provideMerge(Layer.succeed(LedgerSettings, config))
  )
  return callControlLayer(config, options).pipe(Layer.provideMerge(ledger))
}

/**
 * Test fixture: an instance's endpoint writes without the whole ledger. Endpoint writes append to
 * the log and wait for the projections, so this runs a projection runner with the endpoints
 * projection over the given file and store, as `callLedgerLayer` does.
 */
import { Effect, Either, Layer, ManagedRuntime } from "effect"
import { Projections, projectionsLayer } from "../../src/projections/projectionRunner.js"
import { EventStore } from "../../src/store/eventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { LedgerDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { webhookEndpointsProjection } from "../../src/webhooks/webhookEndpointsProjection.js"

type Services = LedgerDatabase | EventStore | Projections

export interface EndpointRuntime {
  /** Runs an effect; fails the test with its error. */
  readonly ok: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>
  /** Runs an effect and answers its success or failure. */
  readonly either: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<Either.Either<A, E>>
  readonly dispose: () => Promise<void>
}

export const makeEndpointRuntime = (db: SqliteDatabase, store: EventStoreService): EndpointRuntime => {
  const runtime = ManagedRuntime.make(
    projectionsLayer([webhookEndpointsProjection]).pipe(
      Layer.provideMerge(Layer.mergeAll(Layer.succeed(LedgerDatabase, db), Layer.succeed(EventStore, store)))
    )
  )
  // Built now, not at its first use: the runner feeds this file from the start, as in a running instance.
  void runtime.runtime()
  const either = <A, E>(effect: Effect.Effect<A, E, Services>) => runtime.runPromise(Effect.either(effect))
  return {
    either,
    ok: async (effect) => {
      const result = await either(effect)
      if (Either.isLeft(result)) throw new Error(`unexpected failure: ${JSON.stringify(result.left)}`)
      return result.right
    },
    dispose: () => runtime.dispose()
  }
}

/**
 * The contract every `EventStore` adapter keeps: revisions, conflicts, global order, idempotent
 * re-append, deletes, and catch-up subscriptions that resume from a checkpoint after a restart.
 * Each adapter's spec file calls `eventStoreContract(name, harness)`.
 */
import type { EventStoreService } from "../../src/store/eventStore.js"

/** One store under test. `reopen` gives a new store over the same storage, as after a process restart. */
export interface OpenedStore {
  readonly store: EventStoreService
  /** Closes this instance and opens a fresh one over the same data; absent for stores that cannot outlive their process. */
  readonly reopen?: () => Promise<OpenedStore>
  readonly close: () => Promise<void>
}

export interface EventStoreHarness {
  /** Opens an empty store. Called once per test. */
  readonly open: () => Promise<OpenedStore>
}

export const eventStoreContract = (_adapterName: string, _harness: EventStoreHarness): void => {
  // Filled in by the store contract work (issue 2, item 3).
}

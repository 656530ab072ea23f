/**
 * The ledger for services that do not use Effect: `openCallLedger(settings)` starts an instance
 * (log, projections, webhook dispatcher) in this process and returns Promise-returning methods.
 * A rule violation rejects with the decider's tagged error (`CallNotFound`, `CallNotActive`, …);
 * `close()` stops the projections and the dispatcher (waiting for attempts in flight) and closes the file.
 */
import { Cause, Exit, ManagedRuntime } from "effect"
import type { Effect } from "effect"
import type { CallCommand } from "../domain/callCommands.js"
import type { CallStats } from "../projections/callStats.js"
import type { CallView } from "../projections/callViewSchema.js"
import type { CommandContext, CommandResult } from "../store/callCommandHandler.js"
import type { ReadStreamOptions, RecordedEvent } from "../store/eventStore.js"
import { CallLedger } from "./callLedger.js"
import type { CallListFilter, CallListPage } from "./callLedger.js"
import { callLedgerLayer } from "./callLedgerLayer.js"
import { makeLedgerConfig } from "./ledgerConfig.js"

/** The settings `openCallLedger` takes: any of `LedgerConfig`'s, the rest defaulted. */
export type CallLedgerSettings = Parameters<typeof makeLedgerConfig>[0]

export interface CallLedgerClient {
  /** Records a command's events (decide, append, wait for the projections). */
  readonly execute: (command: CallCommand, context?: CommandContext) => Promise<CommandResult>
  readonly getCall: (callId: string) => Promise<CallView | null>
  readonly listCalls: (filter?: CallListFilter) => Promise<CallListPage>
  /** `CallLedgerService.callHistory`: all the call's events, or the page asked for; null for an unknown call. */
  readonly callHistory: (callId: string, page?: ReadStreamOptions) => Promise<ReadonlyArray<RecordedEvent> | null>
  /** Seed 001 transcript shape, `{status: "processing"}` before the final segments, null for an unknown call. */
  readonly getTranscript: (callId: string) => Promise<unknown | null>
  /** Seed 002 stats (`CallStats`); `from`/`to` ISO-8601 instants, inclusive. */
  readonly stats: (filter?: { readonly campaignId?: string; readonly from?: string; readonly to?: string }) => Promise<CallStats>
  readonly liveCalls: () => Promise<ReadonlyArray<CallView>>
  readonly close: () => Promise<void>
}

/** Starts a ledger instance; e.g. `openCallLedger({ databasePath: "./data/ledger.db" })`. */
export const openCallLedger = async (settings: CallLedgerSettings = {}): Promise<CallLedgerClient> => {
  const runtime = ManagedRuntime.make(callLedgerLayer(makeLedgerConfig(settings)))
  const ledger = await runtime.runPromise(CallLedger)
  // Rejects with the typed error itself (e.g. `CallAlreadyEnded`), not Effect's FiberFailure wrapper.
  const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
    runtime.runPromiseExit(effect).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    })
  return {
    execute: (command, context) => run(ledger.execute(command, context)),
    getCall: (callId) => run(ledger.getCall(callId)),
    listCalls: (filter = {}) => run(ledger.listCalls(filter)),
    callHistory: (callId, page) => run(ledger.callHistory(callId, page)),
    getTranscript: (callId) => run(ledger.getTranscript(callId)),
    stats: (filter = {}) => run(ledger.stats(filter)),
    liveCalls: () => run(ledger.liveCalls()),
    close: () => runtime.dispose()
  }
}

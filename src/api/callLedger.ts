/**
 * The library API: what an embedding service imports to record and query calls. The HTTP API is a
 * thin layer over it. Writes go through the decider and the log; reads come from the projections,
 * and every write waits (briefly) until the projections have applied it, so a read after a write
 * sees it (read-your-writes).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { CallCommand } from "../domain/callCommands.js"
import type { CallRuleViolation } from "../domain/callErrors.js"
import type { CallEvent } from "../domain/callEvents.js"
import type { CallStats } from "../projections/callStats.js"
import type { CallListQuery, StoredCallView } from "../projections/callView.js"
import type { CallView } from "../projections/callViewSchema.js"
import type { CommandContext, CommandResult } from "../store/callCommandHandler.js"
import type { Position, ReadStreamOptions, RecordedEvent } from "../store/eventStore.js"

/** Filters and paging of `listCalls` (`GET /v1/calls`): the call view's query. */
export type CallListFilter = CallListQuery

export interface CallListPage {
  readonly data: ReadonlyArray<CallView>
  /** The same calls as stored (id and view as JSON text), parsed into `data` only when it is read. */
  readonly stored: ReadonlyArray<StoredCallView>
  readonly total: number
  readonly limit: number
  readonly offset: number
  readonly nextCursor: string | null
  readonly hasMore: boolean
}

/** A bad cursor or filter value the schema could not catch. */
export interface InvalidQuery {
  readonly _tag: "InvalidQuery"
  readonly field: string
  readonly message: string
}

export interface CallLedgerService {
  /** Runs a command through the decider and appends its events; waits for the projections to apply them. */
  readonly execute: (command: CallCommand, context?: CommandContext) => Effect.Effect<CommandResult, CallRuleViolation>
  /**
   * What `command` would append now, without writing (`decideCallCommand`), or the rule it breaks;
   * no events for a command already applied. For an action outside the ledger (a transfer, a
   * hang-up) that must not happen when the write would be refused, nor happen twice.
   */
  readonly decide: (command: CallCommand) => Effect.Effect<ReadonlyArray<CallEvent>, CallRuleViolation>
  readonly getCall: (callId: string) => Effect.Effect<CallView | null>
  /** `getCall`, as stored (the view as JSON text), for a caller that writes it out as JSON again. */
  readonly getStoredCall: (callId: string) => Effect.Effect<StoredCallView | null>
  /** The views of these calls in the order asked, each once; unknown ids are left out (seed 003 batch fetch). */
  readonly getCalls: (callIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<CallView>>
  /**
   * The call's events as the log holds them (stream `call-<id>`, revision order): type, revision,
   * position, data and metadata (`occurredAt`, `recordedAt`, `commandId`, ...). All of them, or a
   * page: from `fromRevision` (inclusive), at most `maxCount`; a page past the last event is empty.
   * Null for an unknown call.
   */
  readonly callHistory: (callId: string, page?: ReadStreamOptions) => Effect.Effect<ReadonlyArray<RecordedEvent> | null>
  /** The call's latest recording as the provider referenced it (never shown to API users as is); null when none. */
  readonly recording: (callId: string) => Effect.Effect<CallRecording | null>
  readonly findCallIdBySid: (callSid: string) => Effect.Effect<string | null>
  readonly listCalls: (filter: CallListFilter) => Effect.Effect<CallListPage, InvalidQuery>
  /** Seed 001 transcript shape; `{status: "processing"}` before the final segments; null for an unknown call. */
  readonly getTranscript: (callId: string) => Effect.Effect<unknown | null>
  /** Seed 002 stats shape and more (`CallStats`); `from`/`to` ISO instants, inclusive. */
  readonly stats: (filter: { readonly campaignId?: string | undefined; readonly from?: string | undefined; readonly to?: string | undefined }) => Effect.Effect<CallStats>
  readonly liveCalls: () => Effect.Effect<ReadonlyArray<CallView>>
  readonly isOnDoNotCallList: (phone: string) => Effect.Effect<boolean>
  /** Position the projections have applied, null before the first event. */
  readonly projectedPosition: Effect.Effect<Position | null>
}

/** A recording reference from `CallRecordingAttached`: the provider's URL or file name, its type and length (s). */
export interface CallRecording {
  readonly recordingRef: string
  readonly contentType: string
  readonly durationSeconds: number | null
}

/** The `CallLedger` service tag. Built by `callLedgerLayer`. */
export class CallLedger extends Context.Tag("call-ledger/CallLedger")<CallLedger, CallLedgerService>() {}

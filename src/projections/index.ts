/**
 * The read side: projections fed from `$all`, their runner, and the queries the API serves.
 * `allProjections` is the order they apply in; a projection reading another's tables (the webhook
 * outbox reads the call view) goes after it.
 */
import { callStatsProjection } from "./callStats.js"
import { callViewProjection } from "./callView.js"
import { doNotCallProjection } from "./doNotCall.js"
import type { Projection } from "./projection.js"
import { transcriptProjection } from "./transcriptView.js"

/** The ledger's own read models, in order: call view, transcript, stats, do-not-call. */
export const allProjections: ReadonlyArray<Projection> = [
  callViewProjection,
  transcriptProjection,
  callStatsProjection,
  doNotCallProjection
]

export type { Projection, ProjectionHandler } from "./projection.js"
export { asCallEvent } from "./projection.js"
export * from "./projectionRunner.js"
export type { CallView } from "./callViewSchema.js"
export { CallView as CallViewSchema } from "./callViewSchema.js"
export {
  callViewName, callViewOnDial, callViewProjection, encodeCallCursor, ensureCallViewTables, evolveCallView,
  InvalidCallQuery, listCalls, readCallView, readCallViews, readStoredCallView
} from "./callView.js"
export type { CallListPage, CallListQuery, CallViewState, StoredCallView } from "./callView.js"
export { liveStatuses, isLiveStatus } from "./callStatus.js"
export { countLiveTransfers, readLiveCalls } from "./liveCalls.js"
export type { LiveCallsQuery } from "./liveCalls.js"
export { readTranscript, transcriptProjection, transcriptViewName } from "./transcriptView.js"
export type { CompletedTranscript, ProcessingTranscript, TranscriptSegmentView, TranscriptView } from "./transcriptView.js"
export { callStatsName, callStatsProjection, readCallStats } from "./callStats.js"
export type { CallStats, CallStatsQuery, CallStatsTotals, DailyCallStats } from "./callStats.js"
export { doNotCallName, doNotCallProjection, ensureDoNotCallTables, isOnDoNotCallList, readDoNotCallList } from "./doNotCall.js"
export type { DoNotCallEntry, DoNotCallReason } from "./doNotCall.js"
export { InvalidInstant } from "./utcInstant.js"

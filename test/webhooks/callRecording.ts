/**
 * Test fixture: records calls through the real write path (`handleCallCommand` on the memory
 * store) and a minimal call view folded from the events, standing in for the call view projection.
 */
import { Effect } from "effect"
import type { CallCommand } from "../../src/domain/callCommands.js"
import { callStreamPrefix } from "../../src/domain/callEvents.js"
import { handleCallCommand } from "../../src/store/callCommandHandler.js"
import { EventStore } from "../../src/store/eventStore.js"
import type { EventStoreService, RecordedEvent } from "../../src/store/eventStore.js"

/** Runs commands for one call in order and fails the test on a rule violation. */
export const runCommands = (store: EventStoreService, commands: ReadonlyArray<CallCommand>): Promise<void> =>
  Effect.runPromise(
    Effect.forEach(commands, (command) => handleCallCommand(command), { discard: true }).pipe(
      Effect.provideService(EventStore, store)
    )
  )

/** Every call event of `$all` (not the endpoint streams), in position order. */
export const readAllEvents = (store: EventStoreService): Promise<ReadonlyArray<RecordedEvent>> =>
  Effect.runPromise(store.readAll({ filter: { streamPrefixes: [callStreamPrefix] } }))

const base = (callId: string, step: string, at: string) => ({ commandId: `${callId}-${step}`, callId, at })

/** A whole answered call: dialed, answered, final transcript, dispositioned, ended (`completed`, 142 s). */
export const completedCallCommands = (callId: string): ReadonlyArray<CallCommand> => [
  {
    ...base(callId, "dial", "2024-02-01T09:14:03.000Z"),
    type: "DialCall", direction: "outbound", callType: "telephony_outbound", status: "queued",
    from: "+14155550100", to: "+919876543210",
    contact: { phone: "+919876543210", name: "Priya Sharma", id: null },
    campaignId: "cmp_4Rv8sT1wX", agentId: null, agentName: null, scriptId: null, language: "hi-IN",
    metadata: {}, provider: null, callSid: null
  },
  { ...base(callId, "answer", "2024-02-01T09:14:10.000Z"), type: "AnswerCall", answeredBy: "human" },
  {
    ...base(callId, "transcript-partial", "2024-02-01T09:15:00.000Z"),
    type: "RecordTranscript", language: "hi-IN", final: false, jobId: null,
    segments: [{ speaker: "agent", text: "Namaste", startTime: 0.4, endTime: 1.1, confidence: 0.97 }]
  },
  {
    ...base(callId, "transcript-final", "2024-02-01T09:16:20.000Z"),
    type: "RecordTranscript", language: "hi-IN", final: true, jobId: "job_2Kn7wR4pM",
    segments: [{ speaker: "customer", text: "Haan, bataiye.", startTime: 5.9, endTime: 7.2, confidence: 0.95 }]
  },
  {
    ...base(callId, "disposition", "2024-02-01T09:16:24.000Z"),
    type: "SetDisposition", disposition: "escalated", outcome: "connected", sentiment: "positive",
    sentimentScore: null, summary: "Wants a human", keyDetails: null
  },
  {
    ...base(callId, "end", "2024-02-01T09:16:25.000Z"),
    type: "EndCall", reason: "user_hangup", status: "completed", outcome: "connected", durationSeconds: 142, errorReason: null
  }
]

/** A minimal call view: enough to check that a webhook carries the view as of its event. */
export interface MiniCallView {
  readonly id: string
  readonly status: string
  readonly disposition: string | null
  readonly duration_seconds: number
  readonly revision: number
}

/** Folds call events into `MiniCallView`s; `loadCallView` has the outbox option's shape. */
export const makeMiniCallViews = () => {
  const views = new Map<string, MiniCallView>()
  const project = (event: RecordedEvent): void => {
    const data = event.data as Record<string, unknown>
    const callId = data["callId"] as string
    const current = views.get(callId) ?? { id: callId, status: "queued", disposition: null, duration_seconds: 0, revision: -1 }
    const next = { ...current, revision: Number(event.revision) }
    if (event.type === "CallAnswered") next.status = "in_progress"
    if (event.type === "CallDispositioned") next.disposition = data["disposition"] as string | null
    if (event.type === "CallEnded") {
      next.status = data["status"] as string
      next.duration_seconds = data["durationSeconds"] as number
    }
    views.set(callId, next)
  }
  return { project, loadCallView: (_db: unknown, callId: string): MiniCallView | null => views.get(callId) ?? null }
}

/**
 * The write path for calls: read the stream, fold it, decide, append with the revision read
 * (optimistic concurrency); on a conflict read again and decide again, a bounded number of times.
 * Event ids are UUID v5 of the command id and the event's index, so a retried command that slipped
 * past the decider's check is still stored once (the store treats re-appended ids as idempotent).
 */
import { Clock, Effect, Either, Schedule } from "effect"
import { v5 as uuidv5 } from "uuid"
import { decide, foldCall } from "../domain/callDecider.js"
import type { CallCommand } from "../domain/callCommands.js"
import { CallNotFound } from "../domain/callErrors.js"
import type { CallRuleViolation } from "../domain/callErrors.js"
import { callStreamId } from "../domain/callEvents.js"
import type { CallEvent } from "../domain/callEvents.js"
import { EventStore, WrongExpectedRevision } from "./eventStore.js"
import type { EventToAppend, Position, RecordedEvent } from "./eventStore.js"

/** Namespace of the ledger's deterministic event ids (UUID v5, RFC 9562 §5.5). */
export const eventIdNamespace = "6f1c8f1e-2f0b-4c55-9b0e-7c4b7d4f3a10"

/** Deterministic event id: the same command and index always give the same id. */
export const eventIdFor = (commandId: string, index: number): string => uuidv5(`${commandId}:${index}`, eventIdNamespace)

/** Correlation of a command with what caused it, written into every event's metadata. */
export interface CommandContext {
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
}

/** What a handled command did. `position` is null when it appended nothing (a no-op or a retry). */
export interface CommandResult {
  readonly callId: string
  readonly events: ReadonlyArray<CallEvent>
  /** Revision of the call stream's last event after the command; -1 when the stream is empty. */
  readonly revision: bigint
  readonly position: Position | null
}

/** Current schema version of event data; bumped with upcasters when an event's shape changes. */
export const schemaVersion = 1

const maxConflictRetries = 10

/** The events stored in a call stream, as the decider sees them. */
export const toCallEvents = (recorded: ReadonlyArray<RecordedEvent>) =>
  recorded.map((e) => ({ event: { type: e.type, data: e.data } as CallEvent, commandId: e.metadata.commandId }))

/**
 * Handles one call command. Fails with the rule it breaks (`CallRuleViolation`); store conflicts
 * are retried here and become a defect only after `maxConflictRetries` attempts.
 */
export const handleCallCommand = Effect.fn("CallLedger.handleCommand")(function*(
  command: CallCommand,
  context: CommandContext = {}
) {
  const store = yield* EventStore
  const streamId = callStreamId(command.callId)
  const attempt = Effect.gen(function*() {
    const recorded = yield* store.readStream(streamId).pipe(
      Effect.catchTag("StreamDeleted", () => Effect.fail(new CallNotFound({ callId: command.callId })))
    )
    const state = foldCall(toCallEvents(recorded))
    const revision = recorded.length === 0 ? -1n : recorded[recorded.length - 1]!.revision
    const decision = decide(command, state)
    if (Either.isLeft(decision)) return yield* Effect.fail<CallRuleViolation>(decision.left)
    const events = decision.right
    if (events.length === 0) {
      return { callId: command.callId, events, revision, position: null } satisfies CommandResult
    }
    const recordedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
    const toAppend: Array<EventToAppend> = events.map((event, index) => ({
      eventId: eventIdFor(command.commandId, index),
      type: event.type,
      data: event.data,
      metadata: {
        schemaVersion,
        commandId: command.commandId,
        correlationId: context.correlationId ?? command.commandId,
        causationId: context.causationId ?? null,
        occurredAt: command.at,
        recordedAt
      }
    }))
    const result = yield* store.appendToStream(streamId, toAppend, recorded.length === 0 ? "no_stream" : revision).pipe(
      Effect.catchTag("StreamDeleted", () => Effect.fail(new CallNotFound({ callId: command.callId })))
    )
    return {
      callId: command.callId,
      events,
      revision: result.nextExpectedRevision,
      position: result.position
    } satisfies CommandResult
  })
  return yield* attempt.pipe(
    Effect.retry({
      while: (error) => error instanceof WrongExpectedRevision,
      schedule: Schedule.recurs(maxConflictRetries)
    }),
    Effect.catchTag("WrongExpectedRevision", (error) => Effect.die(error))
  )
})

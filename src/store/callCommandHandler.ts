/**
 * The write path for calls: read the stream, fold it, decide, append with the revision read
 * (optimistic concurrency); on a conflict read again and decide again, a bounded number of times.
 * Event ids are UUID v5 of the command id and the event's index, so a retried command that slipped
 * past the decider's check is still stored once (the store treats re-appended ids as idempotent).
 *
 * Each store instance keeps the folded state of the calls it wrote recently, so a command on such
 * a call decides without reading the stream (and parsing its JSON) again. That is safe because the
 * append states the revision the cached state was folded to: a stream written elsewhere meanwhile
 * fails it (`WrongExpectedRevision`), the entry is dropped and the retry reads the stream. A cached
 * state that leads to no events or to a rule violation is checked against a full read before it is believed.
 */
import { Clock, Effect, Either, Schedule } from "effect"
import { parse as uuidParse, v5 as uuidv5 } from "uuid"
import { decide, foldCall } from "../domain/callDecider.js"
import type { CallCommand } from "../domain/callCommands.js"
import { CallNotFound } from "../domain/callErrors.js"
import type { CallRuleViolation } from "../domain/callErrors.js"
import { callStreamId } from "../domain/callEvents.js"
import type { CallEvent } from "../domain/callEvents.js"
import { evolve } from "../domain/callState.js"
import type { CallState } from "../domain/callState.js"
import { EventStore, WrongExpectedRevision } from "./eventStore.js"
import type { EventStoreService, EventToAppend, Position, RecordedEvent } from "./eventStore.js"

/** Namespace of the ledger's deterministic event ids (UUID v5, RFC 9562 §5.5). */
export const eventIdNamespace = "6f1c8f1e-2f0b-4c55-9b0e-7c4b7d4f3a10"

const namespaceBytes = uuidParse(eventIdNamespace)

/**
 * Deterministic event id: the same command and index always give the same id, the UUID v5 of
 * `<commandId>:<index>` (the namespace passed as bytes, so `uuid` does not parse it on every call).
 */
export const eventIdFor = (commandId: string, index: number): string => uuidv5(`${commandId}:${index}`, namespaceBytes)

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

/** A call's write-side state as of `revision` (the stream's last event). */
interface CachedCall {
  readonly state: CallState
  readonly revision: bigint
}

/** Calls whose state a store instance keeps; a call lives minutes, so this covers every live call many times over. */
const cachedCallsPerStore = 50_000

/**
 * Recently written calls' states per store instance, least recently used evicted first
 * (a `Map` iterates in insertion order).
 */
const callStateCaches = new WeakMap<EventStoreService, Map<string, CachedCall>>()

const cacheOf = (store: EventStoreService): Map<string, CachedCall> => {
  let cache = callStateCaches.get(store)
  if (cache === undefined) {
    cache = new Map()
    callStateCaches.set(store, cache)
  }
  return cache
}

const remember = (cache: Map<string, CachedCall>, streamId: string, entry: CachedCall): void => {
  cache.delete(streamId)
  cache.set(streamId, entry)
  if (cache.size > cachedCallsPerStore) cache.delete(cache.keys().next().value!)
}

/**
 * Handles one call command. Fails with the rule it breaks (`CallRuleViolation`); store conflicts
 * are retried here and become a defect only after `maxConflictRetries` attempts.
 * Not wrapped in a span (`Effect.fn`): with Effect's built-in tracer a span per command cost more
 * CPU than the command itself (`npm run bench`, append throughput: about 2.5x slower).
 */
export const handleCallCommand = (
  command: CallCommand,
  context: CommandContext = {}
) => Effect.gen(function*() {
  const store = yield* EventStore
  const streamId = callStreamId(command.callId)
  const cache = cacheOf(store)
  const notFound = () => Effect.fail(new CallNotFound({ callId: command.callId }))
  /** The call's state and revision: the cached one, or folded from a full read of the stream. */
  const load = (useCache: boolean) =>
    Effect.gen(function*() {
      const cached = useCache ? cache.get(streamId) : undefined
      if (cached !== undefined) return { ...cached, fromCache: true }
      const recorded = yield* store.readStream(streamId).pipe(Effect.catchTag("StreamDeleted", notFound))
      const state = foldCall(toCallEvents(recorded))
      const revision = recorded.length === 0 ? -1n : recorded[recorded.length - 1]!.revision
      return { state, revision, fromCache: false }
    })
  const attempt = Effect.gen(function*() {
    let loaded = yield* load(true)
    let decision = decide(command, loaded.state)
    // A stale cached state (a stream deleted or written elsewhere) could refuse or skip a command
    // wrongly; an append from it cannot go wrong (the expected revision catches it).
    if (loaded.fromCache && (Either.isLeft(decision) || decision.right.length === 0)) {
      loaded = yield* load(false)
      decision = decide(command, loaded.state)
    }
    const { state, revision } = loaded
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
    const result = yield* store.appendToStream(streamId, toAppend, revision < 0n ? "no_stream" : revision).pipe(
      Effect.catchTag("StreamDeleted", notFound),
      Effect.tapError(() => Effect.sync(() => cache.delete(streamId)))
    )
    if (result.nextExpectedRevision === revision + BigInt(events.length)) {
      remember(cache, streamId, {
        state: events.reduce((s, event) => evolve(s, event, command.commandId), state),
        revision: result.nextExpectedRevision
      })
    } else {
      // An idempotent re-append of events stored earlier: the stream is not what this state says.
      cache.delete(streamId)
    }
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

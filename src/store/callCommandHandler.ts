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
 *
 * Commands on cached calls are written in batches: the commands submitted in one event-loop turn
 * are decided one after another against the cache (a second command on the same call sees the
 * first's events), then appended together with `appendMany` (one transaction on SQLite), and each
 * caller is resumed once with its own result. Under load (the last batch held more than one
 * command) a batch waits one event-loop turn more, a commit delay in the manner of PostgreSQL's
 * `commit_delay`: served over HTTP by 32 clients, batches then held 28 commands instead of 15,
 * and the server's CPU per report fell by about a quarter, its commit and the read models' writes
 * shared by twice as many (`npm run bench`, HTTP ingest). One command at a time waits no longer:
 * its batch is the last one, of one. Per command that is one suspension instead of a
 * chain of effects, which cost more CPU than deciding and storing it (`npm run bench`, append
 * throughput). Anything else (a call not cached, a refusal or no-op from the cache, a conflict)
 * takes the read-decide-append path in the caller's own fiber.
 */
import { Clock, Effect, Either, Exit } from "effect"
import { decide, foldCall } from "../domain/callDecider.js"
import type { CallCommand } from "../domain/callCommands.js"
import { CallNotFound } from "../domain/callErrors.js"
import type { CallRuleViolation } from "../domain/callErrors.js"
import { callStreamId } from "../domain/callEvents.js"
import type { CallEvent } from "../domain/callEvents.js"
import { evolve, initialState } from "../domain/callState.js"
import type { CallState } from "../domain/callState.js"
import { EventStore } from "./eventStore.js"
import type { AppendResult, EventStoreService, EventToAppend, Position, RecordedEvent } from "./eventStore.js"
import { uuidV5In } from "./uuidV5.js"

/** Namespace of the ledger's deterministic event ids (UUID v5, RFC 9562 §5.5). */
export const eventIdNamespace = "6f1c8f1e-2f0b-4c55-9b0e-7c4b7d4f3a10"

const eventIdOf = uuidV5In(eventIdNamespace)

/**
 * Deterministic event id: the same command and index always give the same id, the UUID v5 of
 * `<commandId>:<index>` in `eventIdNamespace`.
 */
export const eventIdFor = (commandId: string, index: number): string => eventIdOf(`${commandId}:${index}`)

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

/** The state of a call with no events, as a cache entry. */
const emptyCall: CachedCall = { state: initialState, revision: -1n }

/** Calls whose state a store instance keeps; a call lives minutes, so this covers every live call many times over. */
const cachedCallsPerStore = 50_000

/**
 * What the write path keeps per store instance: recently written calls' states, least recently
 * used evicted first (a `Map` iterates in insertion order), and the commands queued for the next batch.
 */
interface CallWriter {
  readonly cache: Map<string, CachedCall>
  queued: Array<QueuedCommand>
  scheduled: boolean
  /** Commands in the last batch written: more than one, and the next batch waits a turn longer. */
  lastBatch: number
}

const writers = new WeakMap<EventStoreService, CallWriter>()

const writerOf = (store: EventStoreService): CallWriter => {
  let writer = writers.get(store)
  if (writer === undefined) {
    writer = { cache: new Map(), queued: [], scheduled: false, lastBatch: 0 }
    writers.set(store, writer)
  }
  return writer
}

const cacheOf = (store: EventStoreService): Map<string, CachedCall> => writerOf(store).cache

/**
 * After a command's events were stored: the cache moves to the state after them, or forgets the
 * call when the store answered an idempotent re-append of events stored earlier (the stream is not
 * what `from` says). The command's result.
 */
const settleAppended = (
  cache: Map<string, CachedCall>,
  command: CallCommand,
  streamId: string,
  from: CachedCall,
  events: ReadonlyArray<CallEvent>,
  result: AppendResult
): CommandResult => {
  if (result.nextExpectedRevision === from.revision + BigInt(events.length)) {
    remember(cache, streamId, {
      state: events.reduce((state, event) => evolve(state, event, command.commandId), from.state),
      revision: result.nextExpectedRevision
    })
  } else {
    cache.delete(streamId)
  }
  return { callId: command.callId, events, revision: result.nextExpectedRevision, position: result.position }
}

const remember = (cache: Map<string, CachedCall>, streamId: string, entry: CachedCall): void => {
  cache.delete(streamId)
  cache.set(streamId, entry)
  if (cache.size > cachedCallsPerStore) cache.delete(cache.keys().next().value!)
}

/** The call's state and revision folded from a full read of its stream. */
const loadFromStore = (store: EventStoreService, streamId: string, callId: string): Effect.Effect<CachedCall, CallNotFound> =>
  Effect.map(
    store.readStream(streamId).pipe(Effect.catchTag("StreamDeleted", () => Effect.fail(new CallNotFound({ callId })))),
    (recorded) => ({
      state: foldCall(toCallEvents(recorded)),
      revision: recorded.length === 0 ? -1n : recorded[recorded.length - 1]!.revision
    })
  )

/** A command waiting for the next batch, with the clock of its fiber (for `recordedAt`). */
interface QueuedCommand {
  readonly command: CallCommand
  readonly context: CommandContext
  readonly clock: Clock.Clock
  readonly resume: (result: Effect.Effect<CommandResult, CallRuleViolation>) => void
}

/** A queued command decided from the cache, with what it appends. */
interface PlannedAppend {
  readonly item: QueuedCommand
  readonly streamId: string
  /** The cached state it was decided from. */
  readonly from: CachedCall
  readonly events: ReadonlyArray<CallEvent>
  readonly toAppend: ReadonlyArray<EventToAppend>
}

/** The events a decided command appends, with their ids and the ledger's metadata. */
const eventsToAppend = (
  command: CallCommand,
  context: CommandContext,
  events: ReadonlyArray<CallEvent>,
  recordedAt: string
): Array<EventToAppend> => {
  const correlationId = context.correlationId ?? command.commandId
  const causationId = context.causationId ?? null
  return events.map((event, index) => ({
    eventId: eventIdFor(command.commandId, index),
    type: event.type,
    data: event.data,
    metadata: { schemaVersion, commandId: command.commandId, correlationId, causationId, occurredAt: command.at, recordedAt }
  }))
}

/** Decides a queued command from the cache; undefined when the command needs the full path. */
const planFromCache = (cache: Map<string, CachedCall>, item: QueuedCommand, streamId: string): PlannedAppend | undefined => {
  const { command } = item
  const cached = cache.get(streamId) ?? (command.type === "DialCall" ? emptyCall : undefined)
  if (cached === undefined) return undefined
  const decision = decide(command, cached.state)
  if (Either.isLeft(decision) || decision.right.length === 0) return undefined
  const events = decision.right
  const recordedAt = new Date(item.clock.unsafeCurrentTimeMillis()).toISOString()
  return { item, streamId, from: cached, events, toAppend: eventsToAppend(command, item.context, events, recordedAt) }
}

/** Decides and appends the queued commands of `store` (see the module's comment). */
const writeBatch = (store: EventStoreService): void => {
  const writer = writerOf(store)
  const { cache } = writer
  const batch = writer.queued
  writer.queued = []
  writer.scheduled = false
  writer.lastBatch = batch.length
  const planned: Array<PlannedAppend> = []
  const plannedStreams = new Set<string>()
  for (const item of batch) {
    const streamId = callStreamId(item.command.callId)
    let plan: PlannedAppend | undefined
    try {
      // One command per call and batch: a second one must be decided from the state after the
      // first is stored (appending it with the revision the first would reach could land it on
      // top of another writer's event should the first fail).
      plan = plannedStreams.has(streamId) ? undefined : planFromCache(cache, item, streamId)
    } catch (defect) {
      item.resume(Effect.die(defect))
      continue
    }
    if (plan === undefined) {
      item.resume(attempt(store, item.command, item.context, 0))
    } else {
      planned.push(plan)
      plannedStreams.add(streamId)
    }
  }
  if (planned.length === 0) return
  Effect.runCallback(
    store.appendMany(planned.map((p) => ({
      streamId: p.streamId,
      events: p.toAppend,
      expectedRevision: p.from.revision < 0n ? "no_stream" : p.from.revision
    }))),
    {
      onExit: (exit) => {
        if (Exit.isFailure(exit)) {
          for (const p of planned) {
            cache.delete(p.streamId)
            p.item.resume(Effect.failCause(exit.cause))
          }
          return
        }
        exit.value.forEach((outcome, i) => {
          const { events, from, item, streamId } = planned[i]!
          if (Either.isLeft(outcome)) {
            cache.delete(streamId)
            item.resume(outcome.left._tag === "StreamDeleted"
              ? Effect.fail(new CallNotFound({ callId: item.command.callId }))
              : attempt(store, item.command, item.context, 1))
            return
          }
          item.resume(Effect.succeed(settleAppended(cache, item.command, streamId, from, events, outcome.right)))
        })
      }
    }
  )
}

/**
 * Handles one call command. Fails with the rule it breaks (`CallRuleViolation`); store conflicts
 * are retried here and become a defect only after `maxConflictRetries` attempts. Interrupting it
 * before its batch starts withdraws the command; once the batch started, its append goes on.
 * Written as plain `Effect` combinators, without a generator, a retry schedule or a span
 * (`Effect.fn`): this is the ledger's hottest path, and each of them cost more CPU than the
 * decision itself (`npm run bench`, append throughput).
 */
export const handleCallCommand = (
  command: CallCommand,
  context: CommandContext = {}
): Effect.Effect<CommandResult, CallRuleViolation, EventStore> =>
  Effect.flatMap(EventStore, (store) =>
    Effect.clockWith((clock) =>
      Effect.async<CommandResult, CallRuleViolation>((resume) => {
        const writer = writerOf(store)
        const item: QueuedCommand = { command, context, clock, resume }
        writer.queued.push(item)
        if (!writer.scheduled) {
          writer.scheduled = true
          if (writer.lastBatch > 1) setImmediate(() => setImmediate(() => writeBatch(store)))
          else setImmediate(() => writeBatch(store))
        }
        return Effect.sync(() => {
          const index = writer.queued.indexOf(item)
          if (index >= 0) writer.queued.splice(index, 1)
        })
      })
    ))

/**
 * What `command` would append now, or the rule it breaks, without writing: the decider run on the
 * call's state read from the log. For actions with effects outside the ledger (a transfer, a
 * hang-up), which must be refused by the same rules before they happen.
 */
export const decideCallCommand = (command: CallCommand): Effect.Effect<ReadonlyArray<CallEvent>, CallRuleViolation, EventStore> =>
  Effect.flatMap(EventStore, (store) =>
    Effect.flatMap(loadFromStore(store, callStreamId(command.callId), command.callId), (loaded) => {
      const decision = decide(command, loaded.state)
      return Either.isLeft(decision) ? Effect.fail(decision.left) : Effect.succeed(decision.right)
    }))

/** The read-decide-append path, in the caller's fiber: `conflicts` appends of this command failed so far. */
const attempt = (
  store: EventStoreService,
  command: CallCommand,
  context: CommandContext,
  conflicts: number
): Effect.Effect<CommandResult, CallRuleViolation> => {
  const streamId = callStreamId(command.callId)
  const cache = cacheOf(store)
  // A dial of a call this instance has not seen is decided against the empty state without a read:
  // its append expects no stream, so a call that exists after all fails it and the retry reads.
  const cached = cache.get(streamId) ?? (conflicts === 0 && command.type === "DialCall" ? emptyCall : undefined)
  if (cached !== undefined) {
    const decision = decide(command, cached.state)
    // A stale cached state (a stream deleted or written elsewhere) could refuse or skip a command
    // wrongly, so those answers are checked against a full read; an append from it cannot go
    // wrong (the expected revision catches it).
    if (Either.isRight(decision) && decision.right.length > 0) {
      return append(store, cache, command, context, conflicts, streamId, cached, decision.right)
    }
  }
  return Effect.flatMap(loadFromStore(store, streamId, command.callId), (loaded) => {
    const decision = decide(command, loaded.state)
    if (Either.isLeft(decision)) return Effect.fail(decision.left)
    if (decision.right.length === 0) {
      return Effect.succeed<CommandResult>({ callId: command.callId, events: decision.right, revision: loaded.revision, position: null })
    }
    return append(store, cache, command, context, conflicts, streamId, loaded, decision.right)
  })
}

const append = (
  store: EventStoreService,
  cache: Map<string, CachedCall>,
  command: CallCommand,
  context: CommandContext,
  conflicts: number,
  streamId: string,
  loaded: CachedCall,
  events: ReadonlyArray<CallEvent>
): Effect.Effect<CommandResult, CallRuleViolation> =>
  Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) =>
      store.appendToStream(
        streamId,
        eventsToAppend(command, context, events, new Date(now).toISOString()),
        loaded.revision < 0n ? "no_stream" : loaded.revision
      )
    ),
    Effect.matchEffect({
      onFailure: (error): Effect.Effect<CommandResult, CallRuleViolation> => {
        cache.delete(streamId)
        if (error._tag === "StreamDeleted") return Effect.fail(new CallNotFound({ callId: command.callId }))
        if (conflicts >= maxConflictRetries) return Effect.die(error)
        return attempt(store, command, context, conflicts + 1)
      },
      onSuccess: (result) => Effect.succeed(settleAppended(cache, command, streamId, loaded, events, result))
    })
  )

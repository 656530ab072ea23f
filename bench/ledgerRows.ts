/**
 * Turns simulated calls into the rows the ledger stores, without the command path: the decider
 * folds each call's commands in memory and the events are encoded as `SqliteEventStore` encodes
 * them (same event ids, metadata and JSON). For building big logs quickly (the rebuild figure) and
 * as the rows the raw-insert limit writes.
 */
import { decide } from "../src/domain/callDecider.js"
import { callStreamId } from "../src/domain/callEvents.js"
import type { CallEvent } from "../src/domain/callEvents.js"
import { evolve, initialState } from "../src/domain/callState.js"
import type { CallState } from "../src/domain/callState.js"
import { eventIdFor, schemaVersion } from "../src/store/callCommandHandler.js"
import type { SimulatedCall } from "./dataset.js"

/** One `events` row. */
export interface LogRow {
  readonly eventId: string
  readonly streamId: string
  readonly revision: number
  readonly type: string
  readonly data: string
  readonly metadata: string
}

/** A call's events as the decider produces them, each with its command. */
export const decidedEvents = (call: SimulatedCall): Array<{ event: CallEvent; commandId: string; at: string; index: number }> => {
  let state: CallState = initialState
  const out: Array<{ event: CallEvent; commandId: string; at: string; index: number }> = []
  for (const { command } of call.commands) {
    const decision = decide(command, state)
    if (decision._tag === "Left") continue
    decision.right.forEach((event, index) => {
      state = evolve(state, event, command.commandId)
      out.push({ event, commandId: command.commandId, at: command.at, index })
    })
  }
  return out
}

/** The stored rows of a call, recorded at its events' own times. */
export const logRowsOf = (call: SimulatedCall): Array<LogRow> =>
  decidedEvents(call).map(({ event, commandId, at, index }, revision) => ({
    eventId: eventIdFor(commandId, index),
    streamId: callStreamId(call.callId),
    revision,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify({
      schemaVersion, commandId, correlationId: commandId, causationId: null, occurredAt: at, recordedAt: at
    })
  }))

/**
 * Interleaves calls as concurrent calls would: `concurrency` calls at a time, one event of each in
 * turn, so a call's events are spread through the log as in production.
 */
export function* interleaved<A>(perCall: Iterable<ReadonlyArray<A>>, concurrency: number): Generator<A> {
  const active: Array<{ items: ReadonlyArray<A>; next: number }> = []
  const source = perCall[Symbol.iterator]()
  let exhausted = false
  for (;;) {
    while (!exhausted && active.length < concurrency) {
      const next = source.next()
      if (next.done === true) exhausted = true
      else if (next.value.length > 0) active.push({ items: next.value, next: 0 })
    }
    if (active.length === 0) return
    for (let i = 0; i < active.length; i++) {
      const a = active[i]!
      yield a.items[a.next++]!
      if (a.next >= a.items.length) {
        active.splice(i, 1)
        i--
      }
    }
  }
}

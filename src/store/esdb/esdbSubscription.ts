/**
 * A catch-up subscription to `$all` on EventStoreDB, as the port's `Stream` of messages. The
 * server reads the stored events after the start position, says `caught_up` when it turns live
 * (servers from 23.10; streams.proto `ReadResp.CaughtUp`), then pushes new events. With a filter
 * it also sends checkpoints, so a resume after a sparse stretch of `$all` need not read it again.
 *
 * When the connection drops (node restart, leader change, network) the subscription resubscribes
 * after the last position it passed on, with backoff: the consumer sees no gap and no repeat.
 */
import { convertToCommandError, START } from "@eventstore/db-client"
import type { AllStreamResolvedEvent, AllStreamSubscription, EventStoreDBClient } from "@eventstore/db-client"
import { Effect, Schedule, Stream } from "effect"
import type { EventFilter, Position, SubscriptionMessage } from "../eventStore.js"
import { comparePositions } from "../position.js"
import { fromEsdbEvent } from "./esdbEventCodec.js"
import { EsdbCallFailed, isTransient, resubscribeSchedule } from "./esdbFailure.js"
import { matchesFilter } from "../eventFilter.js"
import { serverFilter } from "./esdbFilter.js"

/** The server closed a subscription without an error; a subscription never ends by itself, so resubscribe. */
class SubscriptionEnded extends Error {
  constructor() {
    super("the server ended the subscription")
  }
}

const marker: unique symbol = Symbol("esdbSubscriptionMarker")

type Marker =
  | { readonly [marker]: "CaughtUp" }
  | { readonly [marker]: "Checkpoint"; readonly position: Position }

type Item = AllStreamResolvedEvent | Marker

const isMarker = (item: Item): item is Marker => marker in item

/**
 * One subscription call. The client reports caught-up and checkpoints as callbacks beside its
 * stream of events; they are pushed into that stream as markers, at the moment the client handles
 * the server's message, so they keep their place among the events. The client's stream is paused
 * while an item waits for the consumer, so a slow consumer holds back the server (HTTP/2 flow
 * control) instead of filling memory.
 */
const subscribeOnce = (
  client: EventStoreDBClient,
  after: Position | undefined,
  filter: EventFilter | undefined
): Stream.Stream<Item, EsdbCallFailed> =>
  Stream.async<Item, EsdbCallFailed>((emit) => {
    const subscription = client.subscribeToAll({
      fromPosition: after ?? START,
      filter: serverFilter(filter, (s: AllStreamSubscription, position) => {
        s.push({ [marker]: "Checkpoint", position } satisfies Marker)
      })
    })
    subscription.on("caughtUp", () => subscription.push({ [marker]: "CaughtUp" } satisfies Marker))
    subscription.on("data", (item: Item) => {
      subscription.pause()
      void emit.single(item).then(() => subscription.resume())
    })
    subscription.on("error", (cause: Error) => void emit.fail(new EsdbCallFailed({ operation: "subscribeToAll", cause: convertToCommandError(cause) })))
    subscription.on("end", () => void emit.fail(new EsdbCallFailed({ operation: "subscribeToAll", cause: new SubscriptionEnded() })))
    return Effect.promise(() => subscription.unsubscribe())
  })

/**
 * The port's `subscribeToAll` over `client`: events after `after` (exclusive) that pass `filter`,
 * one `CaughtUp` when the server first says so, then live events. Reconnects forever on transient
 * failures; a persistent failure (access denied, a corrupt event) is a defect.
 */
export const esdbSubscribeToAll = (
  client: EventStoreDBClient,
  options?: { readonly after?: Position | undefined; readonly filter?: EventFilter | undefined }
): Stream.Stream<SubscriptionMessage> =>
  Stream.suspend(() => {
    const filter = options?.filter
    // The last position passed on (an event, or a checkpoint of the server's filter): where a
    // resubscription starts, exclusively.
    let resumeAfter = options?.after
    let caughtUpSent = false
    const advance = (position: Position): boolean => {
      if (resumeAfter !== undefined && comparePositions(position, resumeAfter) <= 0) return false
      resumeAfter = position
      return true
    }
    return Stream.suspend(() => subscribeOnce(client, resumeAfter, filter)).pipe(
      Stream.mapConcat((item): ReadonlyArray<SubscriptionMessage> => {
        if (isMarker(item)) {
          if (item[marker] === "Checkpoint") {
            advance(item.position)
            return []
          }
          if (caughtUpSent) return []
          caughtUpSent = true
          return [{ _tag: "CaughtUp", position: resumeAfter ?? null }]
        }
        const position = item.event?.position
        // Skipping what lies at or before the resume point makes the start exclusive whatever the server does.
        if (position === undefined || !advance(position)) return []
        const event = fromEsdbEvent(item)
        return event !== null && matchesFilter(event, filter) ? [{ _tag: "Event", event }] : []
      }),
      Stream.retry(resubscribeSchedule.pipe(Schedule.whileInput((failure: EsdbCallFailed) => isTransient(failure.cause) || failure.cause instanceof SubscriptionEnded))),
      Stream.orDie
    )
  })

/**
 * Human agent queues a live call can be transferred to (seed 002: "Queue name configured in your
 * org, e.g. sales_specialist, support_team"). Each queue has a number of agents; the calls not yet
 * ended that were transferred to it occupy them. `GET /v1/calls/agent-availability` reports a
 * queue, and `POST /v1/calls/{id}/transfer` answers 503 when it has no agent free.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { countLiveTransfers } from "../projections/index.js"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"

/** Queue name to its number of agents. */
export type AgentQueueSettings = Readonly<Record<string, { readonly agents: number }>>

/** Seed 002's two example queues, two agents each, so its transfer example works out of the box. */
export const defaultAgentQueues: AgentQueueSettings = { sales_specialist: { agents: 2 }, support_team: { agents: 2 } }

const queueName = /^[A-Za-z0-9_.-]{1,64}$/

/**
 * Reads `sales_specialist=2,support_team=0` (`LEDGER_AGENT_QUEUES`, `--agent-queues`): queue names
 * (letters, digits, `_`, `.`, `-`) with their agent counts (whole numbers from 0). The list given
 * replaces the default. Throws an `Error` naming the bad entry.
 */
export const parseAgentQueues = (text: string): AgentQueueSettings => {
  const queues: Record<string, { agents: number }> = {}
  for (const entry of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const [name = "", value = "", ...rest] = entry.split("=").map((s) => s.trim())
    if (!queueName.test(name)) throw new Error(`agent queue "${name}": a name of letters, digits, _, . or - is needed`)
    const agents = Number(value)
    if (rest.length > 0 || value === "" || !Number.isInteger(agents) || agents < 0) {
      throw new Error(`agent queue "${name}": the number of agents must be a whole number from 0 (e.g. ${name}=2)`)
    }
    queues[name] = { agents }
  }
  return queues
}

/** A queue right now: `agents` configured, `queueDepth` live calls transferred to it, ISO `checkedAt`. */
export interface AgentQueueStatus {
  readonly target: string
  readonly agents: number
  readonly queueDepth: number
  readonly available: boolean
  readonly checkedAt: string
}

export interface AgentQueuesService {
  /** The queue names configured. */
  readonly names: ReadonlyArray<string>
  /** The queue's status, or null when no queue has this name. */
  readonly status: (target: string) => Effect.Effect<AgentQueueStatus | null>
  /**
   * Runs `f` with transfers to any queue serialized, so two transfers cannot both take a queue's
   * last free agent between a check and the write.
   */
  readonly exclusively: <A, E, R>(f: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export class AgentQueues extends Context.Tag("call-ledger/AgentQueues")<AgentQueues, AgentQueuesService>() {}

/** The service over the configured queues and the call view's live calls. */
export const agentQueuesLayer = (queues: AgentQueueSettings): Layer.Layer<AgentQueues, never, LedgerDatabase> =>
  Layer.effect(
    AgentQueues,
    Effect.gen(function*() {
      const db = yield* LedgerDatabase
      const lock = yield* Effect.makeSemaphore(1)
      return {
        names: Object.keys(queues),
        status: (target) =>
          Effect.gen(function*() {
            const queue = Object.hasOwn(queues, target) ? queues[target] : undefined
            if (queue === undefined) return null
            const queueDepth = countLiveTransfers(db, target)
            const checkedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
            return { target, agents: queue.agents, queueDepth, available: queueDepth < queue.agents, checkedAt }
          }),
        exclusively: (f) => lock.withPermits(1)(f)
      } satisfies AgentQueuesService
    })
  )

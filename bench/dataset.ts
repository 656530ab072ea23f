/**
 * The benchmark's data: calls from the project's own simulator (`callScenario`, seed 002's outcome
 * mix, Twilio callbacks with their noise, the agent pipeline's reports), turned into the decider
 * commands the HTTP handlers would send, with a fixed seed. Calls start `spacingMillis` apart
 * from `startMillis`, so a million calls spread over days; their steps keep the simulator's offsets.
 */
import { v7 as uuidv7 } from "uuid"
import { commandForReport, dialCommandForBody } from "../src/api/reportCommands.js"
import type { CallEventReport, CreateCallBody } from "../src/api/callRequests.js"
import { commandForTwilioCallback } from "../src/api/twilioStatusCallback.js"
import { callScenario } from "../src/cli/simulate/callScenario.js"
import { seededRandom } from "../src/cli/simulate/seededRandom.js"
import type { SeededRandom } from "../src/cli/simulate/seededRandom.js"
import type { CallCommand } from "../src/domain/callCommands.js"

/** The fixed seed of every benchmark dataset. */
export const benchSeed = 20_240_201

/** One simulated call: its commands in the order the simulator sends them (`atMillis`: the time each stands for). */
export interface SimulatedCall {
  readonly callId: string
  readonly startedAtMillis: number
  readonly commands: ReadonlyArray<{ readonly atMillis: number; readonly command: CallCommand }>
}

export interface DatasetOptions {
  readonly seed?: number | undefined
  /** First call's dial time, ms since the epoch. Default 2025-01-01T00:00:00Z. */
  readonly startMillis?: number | undefined
  /** Between two dials, ms. Default 1000. */
  readonly spacingMillis?: number | undefined
}

const fromNumber = "+15550010000"

/** A time-ordered call id (UUIDv7 of the dial time, random bits from the seeded PRNG): like `newCallId`, but reproducible. */
const callIdAt = (random: SeededRandom, millis: number): string => {
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 16; i++) bytes[i] = random.int(0, 255)
  return `cal_${uuidv7({ msecs: millis, random: bytes }).replaceAll("-", "")}`
}

/** The simulated calls `from` (0-based index) to `from + count`, always the same for the same seed. */
export function* simulatedCalls(count: number, options: DatasetOptions = {}): Generator<SimulatedCall> {
  const random = seededRandom(options.seed ?? benchSeed)
  const start = options.startMillis ?? Date.parse("2025-01-01T00:00:00Z")
  const spacing = options.spacingMillis ?? 1000
  for (let index = 0; index < count; index++) {
    const scenario = callScenario(random, index, fromNumber)
    const dialedAt = start + index * spacing
    const callId = callIdAt(random, dialedAt)
    const iso = (offsetSeconds: number) => new Date(dialedAt + Math.round(offsetSeconds * 1000)).toISOString()
    const commands: Array<{ atMillis: number; command: CallCommand }> = [{
      atMillis: dialedAt,
      command: dialCommandForBody(callId, scenario.createBody as CreateCallBody, `${callId}:dial`, iso(0), "twilio")
    }]
    scenario.steps.forEach((step, i) => {
      const atMillis = dialedAt + Math.round(step.offsetSeconds * 1000)
      if (step.kind === "twilio") {
        const params = { ...step.params, Timestamp: new Date(atMillis).toUTCString() }
        const command = commandForTwilioCallback(callId, params, iso(step.offsetSeconds))
        if ("type" in command) commands.push({ atMillis, command })
      } else {
        const report = { ...step.body, occurred_at: iso(step.offsetSeconds) } as unknown as CallEventReport
        commands.push({ atMillis, command: commandForReport(callId, report, `${callId}:${i}`, iso(step.offsetSeconds)) })
      }
    })
    yield { callId, startedAtMillis: dialedAt, commands }
  }
}

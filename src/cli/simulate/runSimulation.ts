/**
 * Drives simulated calls through a running service's HTTP API, as telephony and the agent pipeline
 * would: `POST /v1/calls`, Twilio-signed status callbacks, transcript/disposition/metrics/recording
 * reports; meanwhile a local receiver verifies every webhook. Returns a summary.
 */
import got from "got"
import PQueue from "p-queue"
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js"
import { callScenario, type ScenarioOutcome } from "./callScenario.js"
import { seededRandom } from "./seededRandom.js"
import { startWebhookReceiver } from "./webhookReceiver.js"

export interface SimulationOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:8080`. Twilio signatures are computed over it. */
  readonly url: string
  readonly calls: number
  readonly seed: number
  /** Calls driven at once. */
  readonly concurrency: number
  readonly twilioAuthToken: string
  /** Bearer API key, when the service asks for one. */
  readonly apiKey?: string | undefined
  /** How long to wait for the last webhooks after the last call, ms. */
  readonly webhookTimeoutMillis: number
  /** Called after each finished call, for a progress bar. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined
}

export interface SimulationSummary {
  readonly calls: number
  readonly outcomes: Readonly<Record<ScenarioOutcome, number>>
  readonly twilioCallbacks: number
  readonly noisyCallbacks: number
  readonly agentReports: number
  readonly eventsAppended: number
  readonly failedRequests: number
  readonly webhooks: {
    readonly expected: number
    readonly received: number
    readonly verified: number
    readonly rejected: number
    readonly duplicates: number
    readonly missing: number
  }
  readonly elapsedMillis: number
}

const fromNumber = "+15550010000"

export const runSimulation = async (options: SimulationOptions): Promise<SimulationSummary> => {
  const started = Date.now()
  const base = options.url.replace(/\/+$/, "")
  const auth: Record<string, string> = options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }
  const http = got.extend({
    prefixUrl: base,
    headers: auth,
    timeout: { request: 30_000 },
    retry: {
      limit: 2,
      methods: ["POST", "GET"],
      // A 429 (the key's rate limit, e.g. 30 calls a minute) wrote nothing: wait as told and go on, however often.
      calculateDelay: ({ error, retryAfter, computedValue }) => (error.response?.statusCode === 429 ? retryAfter ?? 1_000 : computedValue)
    },
    throwHttpErrors: false
  })
  const receiver = await startWebhookReceiver()
  try {
    const endpoint = await http.post("v1/webhooks/endpoints", { json: { url: receiver.url, event_types: ["call.completed"], description: "call-ledger simulate" } })
    if (endpoint.statusCode !== 201) throw new Error(`registering the webhook receiver failed: ${endpoint.statusCode} ${endpoint.body}`)
    receiver.setSecret((JSON.parse(endpoint.body) as { secret: string }).secret)

    const random = seededRandom(options.seed)
    const scenarios = Array.from({ length: options.calls }, (_, i) => callScenario(random, i, fromNumber))
    const outcomes: Record<ScenarioOutcome, number> = { connected: 0, voicemail: 0, "no-answer": 0, failed: 0 }
    const callIds = new Set<string>()
    let twilioCallbacks = 0
    let noisyCallbacks = 0
    let agentReports = 0
    let eventsAppended = 0
    let failedRequests = 0
    let done = 0
    const check = (response: { statusCode: number; body: string }, what: string) => {
      if (response.statusCode >= 300) {
        failedRequests++
        throw new Error(`${what}: HTTP ${response.statusCode} ${response.body}`)
      }
      return JSON.parse(response.body) as { appended?: ReadonlyArray<string>; id?: string }
    }
    const queue = new PQueue({ concurrency: options.concurrency })
    const errors: Array<Error> = []
    for (const scenario of scenarios) {
      void queue.add(async () => {
        try {
          const dialedAt = Date.now()
          const created = check(await http.post("v1/calls", { json: scenario.createBody }), "POST /v1/calls")
          const callId = created.id!
          callIds.add(callId)
          eventsAppended += 1
          outcomes[scenario.outcome]++
          const callbackPath = `v1/telephony/twilio/status?call_id=${encodeURIComponent(callId)}`
          for (const step of scenario.steps) {
            const at = new Date(dialedAt + step.offsetSeconds * 1000)
            if (step.kind === "twilio") {
              const params = { ...step.params, Timestamp: at.toUTCString() }
              const signature = getExpectedTwilioSignature(options.twilioAuthToken, `${base}/${callbackPath}`, params)
              const result = check(await http.post(callbackPath, { form: params, headers: { "x-twilio-signature": signature } }), "Twilio callback")
              twilioCallbacks++
              if (step.noise !== undefined) noisyCallbacks++
              eventsAppended += result.appended?.length ?? 0
            } else {
              const result = check(
                await http.post(`v1/calls/${encodeURIComponent(callId)}/events`, { json: { ...step.body, occurred_at: at.toISOString() } }),
                `report ${String(step.body["type"])}`
              )
              agentReports++
              eventsAppended += result.appended?.length ?? 0
            }
          }
        } catch (error) {
          errors.push(error as Error)
        } finally {
          done++
          options.onProgress?.(done, options.calls)
        }
      })
    }
    await queue.onIdle()
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} simulated calls failed; first: ${errors[0]!.message}`)

    const completedFor = () => new Set([...receiver.received.values()].filter((w) => w.type === "call.completed" && w.callId !== null && callIds.has(w.callId)).map((w) => w.callId))
    const deadline = Date.now() + options.webhookTimeoutMillis
    while (completedFor().size < callIds.size && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const received = completedFor().size
    const stats = receiver.stats()
    return {
      calls: options.calls,
      outcomes,
      twilioCallbacks,
      noisyCallbacks,
      agentReports,
      eventsAppended,
      failedRequests,
      webhooks: {
        expected: callIds.size,
        received,
        verified: stats.verified,
        rejected: stats.rejected,
        duplicates: stats.duplicates,
        missing: callIds.size - received
      },
      elapsedMillis: Date.now() - started
    }
  } finally {
    await receiver.close()
  }
}

/** The summary as the lines `simulate` prints. */
export const formatSummary = (s: SimulationSummary): string => [
  `calls:            ${s.calls} (connected ${s.outcomes.connected}, voicemail ${s.outcomes.voicemail}, no-answer ${s.outcomes["no-answer"]}, failed ${s.outcomes.failed})`,
  `twilio callbacks: ${s.twilioCallbacks} signed (${s.noisyCallbacks} duplicate or out of order, absorbed)`,
  `agent reports:    ${s.agentReports}`,
  `events appended:  ${s.eventsAppended}`,
  `webhooks:         ${s.webhooks.received}/${s.webhooks.expected} call.completed received and verified (${s.webhooks.verified} verified requests, ${s.webhooks.rejected} rejected, ${s.webhooks.duplicates} repeats, ${s.webhooks.missing} missing)`,
  `elapsed:          ${(s.elapsedMillis / 1000).toFixed(1)} s`
].join("\n")

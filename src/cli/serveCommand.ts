/** `call-ledger serve`: the service on the embedded store (default) or EventStoreDB. */
import { Command, Options } from "@effect/cli"
import { Config, Effect, Layer, Option } from "effect"
import { developmentTwilioAuthToken, makeLedgerConfig } from "../api/ledgerConfig.js"
import { httpServerLayer } from "../api/httpServer.js"
import { parseRateLimits } from "../api/rateLimits.js"
import { parseAgentQueues } from "../api/agentQueues.js"
import { defaultIdempotencyKeyTtlMillis } from "../api/idempotencyKeys.js"
import { defaultConcurrencyPerEndpoint, defaultMaxConcurrency } from "../webhooks/deliveryConcurrency.js"
import { defaultWebhookRetentionMillis } from "../webhooks/webhookRetention.js"
import { dbOption, storeOption } from "./storeOptions.js"

const store = storeOption
const db = dbOption
/** An integer setting: the flag, else the environment variable, else `fallback`. */
const integerSetting = (flag: string, env: string, description: string, fallback: number) =>
  Options.integer(flag).pipe(
    Options.withDescription(description),
    Options.withFallbackConfig(Config.integer(env)),
    Options.withDefault(fallback)
  )

const port = Options.integer("port").pipe(Options.withFallbackConfig(Config.integer("PORT")), Options.withDefault(8080))
const host = Options.text("host").pipe(Options.withFallbackConfig(Config.string("LEDGER_HOST")), Options.withDefault("127.0.0.1"))
const publicUrl = Options.text("public-url").pipe(
  Options.withDescription("URL Twilio calls this service at (signatures are checked over it)"),
  Options.withFallbackConfig(Config.string("LEDGER_PUBLIC_URL")),
  Options.optional
)
const twilioAuthToken = Options.text("twilio-auth-token").pipe(
  Options.withFallbackConfig(Config.string("TWILIO_AUTH_TOKEN")),
  Options.withDefault(developmentTwilioAuthToken)
)
const signingKey = Options.text("signing-key").pipe(
  Options.withDescription("HMAC key of signed recording URLs"),
  Options.withFallbackConfig(Config.string("LEDGER_SIGNING_KEY")),
  Options.withDefault("dev-signing-key")
)
const retrySchedule = Options.text("webhook-retry-schedule").pipe(
  Options.withDescription("Comma-separated delays between webhook attempts, ms (default 5s,5m,30m,2h,5h,10h,10h)"),
  Options.withFallbackConfig(Config.string("LEDGER_WEBHOOK_RETRY_SCHEDULE")),
  Options.optional
)
const webhookTimeout = integerSetting("webhook-timeout-ms", "LEDGER_WEBHOOK_TIMEOUT_MS", "How long a webhook attempt may take, ms (default 10000)", 10_000)
const webhookRetention = integerSetting(
  "webhook-retention-ms",
  "LEDGER_WEBHOOK_RETENTION_MS",
  "How long a finished webhook delivery and its attempts are kept after it ended, ms (default 2592000000: 30 days)",
  defaultWebhookRetentionMillis
)
const webhookLease = Options.integer("webhook-lease-ms").pipe(
  Options.withDescription("On EventStoreDB: how long an instance's claim on a webhook delivery holds before another instance may take it over (default: the timeout + 20 s)"),
  Options.withFallbackConfig(Config.integer("LEDGER_WEBHOOK_LEASE_MS")),
  Options.optional
)
const webhookConcurrency = integerSetting("webhook-concurrency", "LEDGER_WEBHOOK_CONCURRENCY", "Webhook attempts in flight across endpoints", defaultMaxConcurrency)
const webhookEndpointConcurrency = integerSetting("webhook-endpoint-concurrency", "LEDGER_WEBHOOK_ENDPOINT_CONCURRENCY", "Webhook attempts in flight per endpoint", defaultConcurrencyPerEndpoint)
const allowLoopback = Options.boolean("webhook-deny-loopback").pipe(
  Options.withDescription("Refuse webhook URLs on 127.0.0.0/8 and ::1 (allowed by default for local development)")
)
const allowPrivate = Options.boolean("webhook-allow-private").pipe(
  Options.withDescription("Allow webhook URLs on private and link-local networks (SSRF filtering is on by default)"),
  Options.withFallbackConfig(Config.boolean("LEDGER_WEBHOOK_ALLOW_PRIVATE"))
)

const requireApiKey = Options.boolean("require-api-key").pipe(
  Options.withDescription("Require a bearer API key with the endpoint's scope (off by default: development mode, the API is open)"),
  Options.withFallbackConfig(Config.boolean("LEDGER_REQUIRE_API_KEY"))
)
const rateLimits = Options.text("rate-limits").pipe(
  Options.withDescription("Requests a minute per API key by route class, e.g. create=30,metadata=30,agentAvailability=30,transfer=10,end=10 (seed 002's, the default)"),
  Options.withFallbackConfig(Config.string("LEDGER_RATE_LIMITS")),
  Options.optional
)

const dialer = Options.choice("dialer", ["none", "simulated"]).pipe(
  Options.withDescription("Who places recorded calls: none (reports and telephony callbacks drive them) or simulated (a built-in dialer plays realistic lifecycles)"),
  Options.withFallbackConfig(Config.literal("none", "simulated")("LEDGER_DIALER")),
  Options.withDefault("none" as const)
)
const dialCallsPerInterval = integerSetting("dial-calls-per-interval", "LEDGER_DIAL_CALLS_PER_INTERVAL", "Calls started per pacing interval (default 1)", 1)
const dialIntervalMs = integerSetting("dial-interval-ms", "LEDGER_DIAL_INTERVAL_MS", "The pacing interval, ms (default 1000: one call per second, as seed 004)", 1000)
const simulatedStepMs = integerSetting("simulated-step-ms", "LEDGER_SIMULATED_STEP_MS", "The simulated dialer's pause between lifecycle steps, ms (default 400)", 400)
const agentQueues = Options.text("agent-queues").pipe(
  Options.withDescription("Agent queues for transfers with their agent counts, e.g. sales_specialist=2,support_team=0 (default sales_specialist=2,support_team=2)"),
  Options.withFallbackConfig(Config.string("LEDGER_AGENT_QUEUES")),
  Options.optional
)
const idempotencyKeyTtlMs = integerSetting(
  "idempotency-key-ttl-ms",
  "LEDGER_IDEMPOTENCY_KEY_TTL_MS",
  "How long an Idempotency-Key is answered again, ms after its first request (default 86400000: 24 hours)",
  defaultIdempotencyKeyTtlMillis
)

export const serveCommand = Command.make(
  "serve",
  { store, db, port, host, publicUrl, twilioAuthToken, signingKey, retrySchedule, webhookTimeout, webhookConcurrency, webhookEndpointConcurrency, webhookLease, webhookRetention, allowLoopback, allowPrivate, requireApiKey, rateLimits,
    dialer, dialCallsPerInterval, dialIntervalMs, simulatedStepMs, agentQueues, idempotencyKeyTtlMs },
  (o) =>
    Effect.gen(function*() {
      const limitsText = Option.getOrUndefined(o.rateLimits)
      const limits = limitsText === undefined
        ? undefined
        : yield* Effect.try({ try: () => parseRateLimits(limitsText), catch: (error) => new Error(`--rate-limits: ${(error as Error).message}`) })
      const queuesText = Option.getOrUndefined(o.agentQueues)
      const queues = queuesText === undefined
        ? undefined
        : yield* Effect.try({ try: () => parseAgentQueues(queuesText), catch: (error) => new Error(`--agent-queues: ${(error as Error).message}`) })
      if (o.dialCallsPerInterval < 1 || o.dialIntervalMs < 1 || o.simulatedStepMs < 0) {
        return yield* Effect.fail(new Error("--dial-calls-per-interval and --dial-interval-ms must be at least 1, --simulated-step-ms at least 0"))
      }
      if (o.idempotencyKeyTtlMs < 1 || o.webhookRetention < 1) {
        return yield* Effect.fail(new Error("--idempotency-key-ttl-ms and --webhook-retention-ms must be at least 1"))
      }
      const config = makeLedgerConfig({
        store: o.store,
        databasePath: o.db,
        port: o.port,
        host: o.host,
        ...(Option.isSome(o.publicUrl) ? { publicUrl: o.publicUrl.value } : {}),
        twilioAuthToken: o.twilioAuthToken,
        signingKey: o.signingKey,
        requireApiKey: o.requireApiKey,
        ...(limits === undefined ? {} : { rateLimits: limits }),
        ...(queues === undefined ? {} : { agentQueues: queues }),
        idempotencyKeyTtlMillis: o.idempotencyKeyTtlMs,
        dialer: {
          kind: o.dialer,
          callsPerInterval: o.dialCallsPerInterval,
          intervalMillis: o.dialIntervalMs,
          simulatedStepMillis: o.simulatedStepMs
        },
        webhooks: {
          ...(Option.isSome(o.retrySchedule) ? { retryScheduleMillis: o.retrySchedule.value.split(",").map((s) => Number(s.trim())) } : {}),
          timeoutMillis: o.webhookTimeout,
          concurrency: o.webhookConcurrency,
          endpointConcurrency: o.webhookEndpointConcurrency,
          ...(Option.isSome(o.webhookLease) ? { claimLeaseMillis: o.webhookLease.value } : {}),
          allowLoopback: !o.allowLoopback,
          allowPrivateNetworks: o.allowPrivate,
          retentionMillis: o.webhookRetention
        }
      })
      if (config.twilioAuthToken === developmentTwilioAuthToken) {
        yield* Effect.logWarning("TWILIO_AUTH_TOKEN is not set: Twilio signatures are checked with the development token")
      }
      if (!config.requireApiKey) {
        yield* Effect.logWarning(
          "API keys are not required (development mode): the API is open to anyone who can reach it. " +
            "Create keys with `call-ledger keys create` and serve with --require-api-key (LEDGER_REQUIRE_API_KEY=true)"
        )
      }
      yield* Effect.logInfo(
        `call-ledger on ${config.publicUrl} (store: ${config.store}, file: ${config.databasePath}, dialer: ${config.dialer.kind})`
      )
      return yield* Layer.launch(httpServerLayer(config))
    })
).pipe(Command.withDescription("Run the service: the Calls API, projections and the webhook dispatcher"))

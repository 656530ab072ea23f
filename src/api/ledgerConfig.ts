/**
 * Settings of a call-ledger instance. Every setting has a flag on `call-ledger serve` and an
 * environment variable (named in each field's docstring); defaults run the embedded store locally.
 */
import { Context } from "effect"
import { defaultRateLimits } from "./rateLimits.js"
import type { RateLimits } from "./rateLimits.js"
import { defaultAgentQueues } from "./agentQueues.js"
import type { AgentQueueSettings } from "./agentQueues.js"
import { defaultConcurrencyPerEndpoint, defaultMaxConcurrency } from "../webhooks/deliveryConcurrency.js"
import { defaultWebhookRetentionMillis } from "../webhooks/webhookRetention.js"
import { defaultIdempotencyKeyTtlMillis } from "./idempotencyKeys.js"

export interface LedgerConfig {
  /** `LEDGER_STORE`: `sqlite` (the embedded file, default) or an `esdb://host:2113?tls=false` connection string. */
  readonly store: string
  /** `LEDGER_DB`: the SQLite file (log on the embedded store, read models and deliveries always). Default `./data/ledger.db`. */
  readonly databasePath: string
  /** `PORT`: HTTP port, default 8080. */
  readonly port: number
  /** `LEDGER_HOST`: interface to listen on, default `127.0.0.1`. */
  readonly host: string
  /**
   * `LEDGER_PUBLIC_URL`: the URL the world reaches this service at, without a trailing slash. Twilio
   * signs the URL it called, so signature checks and signed recording URLs use this. Default
   * `http://<host>:<port>`.
   */
  readonly publicUrl: string
  /** `TWILIO_AUTH_TOKEN`: checks `X-Twilio-Signature` on telephony callbacks. */
  readonly twilioAuthToken: string
  /** `LEDGER_SIGNING_KEY`: HMAC key for signed recording URLs (seed 001: they expire in 1 hour). */
  readonly signingKey: string
  /**
   * `LEDGER_REQUIRE_API_KEY`: when true, the Calls and webhook APIs need a bearer API key with the
   * endpoint's scope (`call-ledger keys create`). Default false: development mode, the API is open.
   */
  readonly requireApiKey: boolean
  /** `LEDGER_RATE_LIMITS` (`create=30,transfer=10,...`): requests a minute per key by route class; default seed 002's. */
  readonly rateLimits: RateLimits
  readonly webhooks: WebhookSettings
  readonly dialer: DialerSettings
  /**
   * `LEDGER_AGENT_QUEUES` (`sales_specialist=2,support_team=0`): the human agent queues calls can be
   * transferred to (seed 002), with how many agents each has. Default `sales_specialist=2,support_team=2`.
   */
  readonly agentQueues: AgentQueueSettings
  /**
   * `LEDGER_IDEMPOTENCY_KEY_TTL_MS`: how long an `Idempotency-Key` is answered again, ms after its
   * first request; afterwards the key is forgotten and a request with it runs as new. Default
   * 86 400 000 (24 hours, as Stripe keeps its keys).
   */
  readonly idempotencyKeyTtlMillis: number
}

/** Who places the calls `POST /v1/calls` and `POST /v1/calls/batch` record, and how fast. */
export interface DialerSettings {
  /**
   * `LEDGER_DIALER`: `none` (default: the ledger records calls and something else drives them, by
   * reports and telephony callbacks) or `simulated` (the built-in dialer plays a realistic lifecycle).
   */
  readonly kind: "none" | "simulated"
  /** `LEDGER_DIAL_CALLS_PER_INTERVAL`: calls started per interval, default 1 (seed 004: 1 call per second). */
  readonly callsPerInterval: number
  /** `LEDGER_DIAL_INTERVAL_MS`: the pacing interval, default 1000 ms. */
  readonly intervalMillis: number
  /** `LEDGER_SIMULATED_STEP_MS`: the simulated dialer's pause between lifecycle steps, default 400 ms. */
  readonly simulatedStepMillis: number
}

export interface WebhookSettings {
  /** `LEDGER_WEBHOOK_RETRY_SCHEDULE`: delays between attempts, ms. Default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
  readonly retryScheduleMillis: ReadonlyArray<number>
  /** `LEDGER_WEBHOOK_TIMEOUT_MS`: per attempt, default 10 000 ms. */
  readonly timeoutMillis: number
  /** `LEDGER_WEBHOOK_CONCURRENCY`: attempts in flight across endpoints, default 128. */
  readonly concurrency: number
  /** `LEDGER_WEBHOOK_ENDPOINT_CONCURRENCY`: attempts in flight per endpoint, default 16. */
  readonly endpointConcurrency: number
  /** Deliver to 127.0.0.1 and ::1 (default true, for local development; `serve --webhook-deny-loopback` turns it off). */
  readonly allowLoopback: boolean
  /** `LEDGER_WEBHOOK_ALLOW_PRIVATE`: deliver to private and link-local networks (default false: SSRF filtering). */
  readonly allowPrivateNetworks: boolean
  /**
   * `LEDGER_WEBHOOK_RETENTION_MS`: how long a finished delivery (delivered, failed, canceled) and
   * its attempts are kept after it ended, ms; pending ones are kept until they finish. Default
   * 2 592 000 000 (30 days).
   */
  readonly retentionMillis: number
  /**
   * `LEDGER_WEBHOOK_LEASE_MS`: on EventStoreDB, how long an instance's claim on a delivery holds
   * before another instance may take it over. Default: the attempt timeout + 20 s.
   */
  readonly claimLeaseMillis?: number | undefined
}

/** The default retry schedule (Standard Webhooks / Svix-like): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const defaultRetryScheduleMillis: ReadonlyArray<number> = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000
]

/** A development token; `serve` warns when it is in use. */
export const developmentTwilioAuthToken = "dev-twilio-auth-token"

/** Fills every setting not given with its default. */
export const makeLedgerConfig = (
  given: Partial<Omit<LedgerConfig, "webhooks" | "rateLimits" | "dialer">> & {
    readonly webhooks?: Partial<WebhookSettings>
    readonly dialer?: Partial<DialerSettings>
    readonly rateLimits?: Partial<RateLimits>
  } = {}
): LedgerConfig => {
  const port = given.port ?? 8080
  const host = given.host ?? "127.0.0.1"
  return {
    store: given.store ?? "sqlite",
    databasePath: given.databasePath ?? "./data/ledger.db",
    port,
    host,
    publicUrl: (given.publicUrl ?? `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`).replace(/\/+$/, ""),
    twilioAuthToken: given.twilioAuthToken ?? developmentTwilioAuthToken,
    signingKey: given.signingKey ?? "dev-signing-key",
    requireApiKey: given.requireApiKey ?? false,
    rateLimits: { ...defaultRateLimits, ...given.rateLimits },
    webhooks: {
      retryScheduleMillis: given.webhooks?.retryScheduleMillis ?? defaultRetryScheduleMillis,
      timeoutMillis: given.webhooks?.timeoutMillis ?? 10_000,
      concurrency: given.webhooks?.concurrency ?? defaultMaxConcurrency,
      endpointConcurrency: given.webhooks?.endpointConcurrency ?? defaultConcurrencyPerEndpoint,
      allowLoopback: given.webhooks?.allowLoopback ?? true,
      allowPrivateNetworks: given.webhooks?.allowPrivateNetworks ?? false,
      retentionMillis: given.webhooks?.retentionMillis ?? defaultWebhookRetentionMillis,
      claimLeaseMillis: given.webhooks?.claimLeaseMillis
    },
    dialer: {
      kind: given.dialer?.kind ?? "none",
      callsPerInterval: given.dialer?.callsPerInterval ?? 1,
      intervalMillis: given.dialer?.intervalMillis ?? 1000,
      simulatedStepMillis: given.dialer?.simulatedStepMillis ?? 400
    },
    agentQueues: given.agentQueues ?? defaultAgentQueues,
    idempotencyKeyTtlMillis: given.idempotencyKeyTtlMillis ?? defaultIdempotencyKeyTtlMillis
  }
}

/** The running instance's settings, for handlers. */
export class LedgerSettings extends Context.Tag("call-ledger/LedgerSettings")<LedgerSettings, LedgerConfig>() {}

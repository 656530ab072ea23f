/** `call-ledger serve`: the service on the embedded store (default) or EventStoreDB. */
import { Command, Options } from "@effect/cli"
import { Config, Effect, Layer, Option } from "effect"
import { developmentTwilioAuthToken, makeLedgerConfig } from "../api/ledgerConfig.js"
import { httpServerLayer } from "../api/httpServer.js"
import { dbOption, storeOption } from "./storeOptions.js"

const store = storeOption
const db = dbOption
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
const webhookTimeout = Options.integer("webhook-timeout-ms").pipe(
  Options.withFallbackConfig(Config.integer("LEDGER_WEBHOOK_TIMEOUT_MS")),
  Options.withDefault(10_000)
)
const allowLoopback = Options.boolean("webhook-deny-loopback").pipe(
  Options.withDescription("Refuse webhook URLs on 127.0.0.0/8 and ::1 (allowed by default for local development)")
)
const allowPrivate = Options.boolean("webhook-allow-private").pipe(
  Options.withDescription("Allow webhook URLs on private and link-local networks (SSRF filtering is on by default)"),
  Options.withFallbackConfig(Config.boolean("LEDGER_WEBHOOK_ALLOW_PRIVATE"))
)

export const serveCommand = Command.make(
  "serve",
  { store, db, port, host, publicUrl, twilioAuthToken, signingKey, retrySchedule, webhookTimeout, allowLoopback, allowPrivate },
  (o) =>
    Effect.gen(function*() {
      const config = makeLedgerConfig({
        store: o.store,
        databasePath: o.db,
        port: o.port,
        host: o.host,
        ...(Option.isSome(o.publicUrl) ? { publicUrl: o.publicUrl.value } : {}),
        twilioAuthToken: o.twilioAuthToken,
        signingKey: o.signingKey,
        webhooks: {
          ...(Option.isSome(o.retrySchedule) ? { retryScheduleMillis: o.retrySchedule.value.split(",").map((s) => Number(s.trim())) } : {}),
          timeoutMillis: o.webhookTimeout,
          allowLoopback: !o.allowLoopback,
          allowPrivateNetworks: o.allowPrivate
        }
      })
      if (config.twilioAuthToken === developmentTwilioAuthToken) {
        yield* Effect.logWarning("TWILIO_AUTH_TOKEN is not set: Twilio signatures are checked with the development token")
      }
      yield* Effect.logInfo(`call-ledger on ${config.publicUrl} (store: ${config.store}, file: ${config.databasePath})`)
      return yield* Layer.launch(httpServerLayer(config))
    })
).pipe(Command.withDescription("Run the service: the Calls API, projections and the webhook dispatcher"))

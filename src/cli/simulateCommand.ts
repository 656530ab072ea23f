/** `call-ledger simulate`: drives N realistic calls through a running service and checks its webhooks. */
import { Command, Options } from "@effect/cli"
import { SingleBar, Presets } from "cli-progress"
import { Config, Console, Effect } from "effect"
import { developmentTwilioAuthToken } from "../api/ledgerConfig.js"
import { formatSummary, runSimulation } from "./simulate/runSimulation.js"

const url = Options.text("url").pipe(
  Options.withDescription("Base URL of the running service"),
  Options.withFallbackConfig(Config.string("LEDGER_URL")),
  Options.withDefault("http://127.0.0.1:8080")
)
const calls = Options.integer("calls").pipe(Options.withAlias("n"), Options.withDescription("How many calls"), Options.withDefault(100))
const seed = Options.integer("seed").pipe(Options.withDescription("Seed of the generated calls"), Options.withDefault(42))
const concurrency = Options.integer("concurrency").pipe(Options.withDescription("Calls driven at once"), Options.withDefault(16))
const twilioAuthToken = Options.text("twilio-auth-token").pipe(
  Options.withDescription("Twilio auth token the service checks signatures with"),
  Options.withFallbackConfig(Config.string("TWILIO_AUTH_TOKEN")),
  Options.withDefault(developmentTwilioAuthToken)
)
const apiKey = Options.text("api-key").pipe(Options.withFallbackConfig(Config.string("LEDGER_API_KEY")), Options.optional)
const webhookTimeout = Options.integer("webhook-timeout").pipe(
  Options.withDescription("Seconds to wait for the last webhooks"),
  Options.withDefault(60)
)

export const simulateCommand = Command.make(
  "simulate",
  { url, calls, seed, concurrency, twilioAuthToken, apiKey, webhookTimeout },
  (options) =>
    Effect.gen(function*() {
      const bar = new SingleBar({ format: "simulating |{bar}| {value}/{total} calls | {duration}s", hideCursor: true }, Presets.shades_classic)
      bar.start(options.calls, 0)
      const summary = yield* Effect.tryPromise({
        try: () =>
          runSimulation({
            url: options.url,
            calls: options.calls,
            seed: options.seed,
            concurrency: options.concurrency,
            twilioAuthToken: options.twilioAuthToken,
            apiKey: options.apiKey._tag === "Some" ? options.apiKey.value : undefined,
            webhookTimeoutMillis: options.webhookTimeout * 1000,
            onProgress: (done) => bar.update(done)
          }),
        catch: (error) => error as Error
      }).pipe(Effect.ensuring(Effect.sync(() => bar.stop())))
      yield* Console.log(formatSummary(summary))
      if (summary.webhooks.missing > 0 || summary.webhooks.rejected > 0 || summary.failedRequests > 0) {
        return yield* Effect.fail(new Error("simulation finished with missing or rejected webhooks"))
      }
    })
).pipe(Command.withDescription("Drive realistic calls through a running service and verify its webhooks"))

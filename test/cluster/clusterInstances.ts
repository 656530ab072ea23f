/**
 * Test fixture: several ledger instances on one EventStoreDB (the in-process gRPC test server),
 * each with its own SQLite file, either in this process (`httpServerLayer`, as `serve` launches
 * it) or as real `call-ledger serve` child processes that a test can SIGKILL.
 */
import { join } from "node:path"
import { Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { httpServerLayer } from "../../src/api/httpServer.js"
import { makeLedgerConfig } from "../../src/api/ledgerConfig.js"
import type { LedgerConfig, WebhookSettings } from "../../src/api/ledgerConfig.js"
import { ledgerClient } from "../fixtures/ledgerClient.js"
import type { Json, LedgerClient } from "../fixtures/ledgerClient.js"
import { startServeProcess } from "../fixtures/ledgerProcess.js"
import type { CliProcess } from "../fixtures/ledgerProcess.js"
import { freePort, waitForHealth } from "../fixtures/ledgerServer.js"

/** Twilio auth token every test instance checks signatures with. */
export const clusterTwilioToken = "cluster-twilio-auth-token-0123456789"

export interface ClusterInstance {
  readonly name: string
  readonly url: string
  readonly api: LedgerClient
  readonly stop: () => Promise<void>
}

/** One instance in this process, on `store` (an `esdb://` connection string) with a file in `folder`. */
export const startInProcessInstance = async (
  name: string,
  store: string,
  folder: string,
  webhooks: Partial<WebhookSettings> = {}
): Promise<ClusterInstance & { readonly config: LedgerConfig }> => {
  const port = await freePort()
  const config = makeLedgerConfig({
    store,
    databasePath: join(folder, `${name}.db`),
    port,
    host: "127.0.0.1",
    twilioAuthToken: clusterTwilioToken,
    signingKey: "cluster-signing-key",
    webhooks: { retryScheduleMillis: [300, 300, 300], timeoutMillis: 3_000, claimLeaseMillis: 4_000, ...webhooks }
  })
  const fiber = Effect.runFork(Layer.launch(httpServerLayer(config)).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))))
  const stop = async () => {
    await Effect.runPromise(Fiber.interrupt(fiber))
  }
  try {
    await waitForHealth(config.publicUrl, 20_000, () => {
      const exit = fiber.unsafePoll()
      return exit === null ? null : `instance ${name} stopped before it was ready: ${String(exit)}`
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { name, url: config.publicUrl, api: ledgerClient(config.publicUrl, clusterTwilioToken), config, stop }
}

/** One `call-ledger serve --store <store>` child process. `kill` SIGKILLs it (no shutdown at all). */
export const startChildInstance = async (
  name: string,
  store: string,
  folder: string,
  webhookArgs: ReadonlyArray<string> = ["--webhook-retry-schedule", "300,300,300", "--webhook-timeout-ms", "15000", "--webhook-lease-ms", "16000"]
): Promise<ClusterInstance & { readonly process: CliProcess; readonly pid: number; readonly kill: () => Promise<void> }> => {
  const port = await freePort()
  const child = await startServeProcess({
    dbPath: join(folder, `${name}.db`),
    port,
    extraArgs: ["--store", store, "--twilio-auth-token", clusterTwilioToken, "--signing-key", "cluster-signing-key", ...webhookArgs]
  })
  const kill = async () => {
    await child.kill("SIGKILL")
  }
  return {
    name,
    url: child.url,
    api: ledgerClient(child.url, clusterTwilioToken),
    process: child,
    pid: child.child.pid!,
    kill,
    stop: async () => {
      if (!child.hasExited()) await child.kill("SIGTERM")
    }
  }
}

/** `POST /v1/webhooks/endpoints` through `instance`; the endpoint with its secret. */
export const registerEndpoint = async (instance: ClusterInstance, url: string): Promise<{ readonly id: string; readonly secret: string }> => {
  const response = await instance.api.post("/v1/webhooks/endpoints", { url, event_types: ["call.completed"], description: `via ${instance.name}` })
  if (response.status !== 201) throw new Error(`register on ${instance.name}: ${response.status} ${response.text}`)
  return response.body as { id: string; secret: string }
}

/** `GET /v1/webhooks/endpoints/{id}/deliveries` on `instance`. */
export const deliveriesOn = async (instance: ClusterInstance, endpointId: string): Promise<Array<Json>> => {
  const response = await instance.api.get(`/v1/webhooks/endpoints/${endpointId}/deliveries?limit=200`)
  if (response.status !== 200) return []
  return (response.body as { data: Array<Json> }).data
}

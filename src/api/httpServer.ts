/**
 * The HTTP server: the Calls API (`CallLedgerApi`) with its handlers, the OpenAPI document at
 * `/openapi.json` and a docs page at `/docs`, on Node's http server, over the ledger's layer.
 */
import { HttpApiBuilder, HttpApiScalar, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { CallLedger } from "./callLedger.js"
import { callLedgerLayer } from "./callLedgerLayer.js"
import { CallLedgerApi } from "./callsApi.js"
import { CallsHandlers } from "./callsHandlers.js"
import type { LedgerConfig } from "./ledgerConfig.js"
import { TelephonyHandlers } from "./telephonyHandlers.js"
import { WebhooksHandlers } from "./webhooksHandlers.js"
import { positionToString } from "../store/position.js"

const HealthHandlers = HttpApiBuilder.group(CallLedgerApi, "health", (handlers) =>
  handlers.handle("health", () =>
    Effect.gen(function*() {
      const ledger = yield* CallLedger
      const position = yield* ledger.projectedPosition
      return { status: "ok" as const, position: position === null ? null : positionToString(position) }
    })))

/** The API with every group's handlers; needs the ledger's services. */
export const apiLayer = HttpApiBuilder.api(CallLedgerApi).pipe(
  Layer.provide([CallsHandlers, TelephonyHandlers, WebhooksHandlers, HealthHandlers])
)

/** Routes of the API plus `/openapi.json` and `/docs`, without a server: for tests and embedding. */
export const apiRoutesLayer = (config: LedgerConfig) =>
  Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
    HttpApiScalar.layer({ path: "/docs" })
  ).pipe(
    Layer.provideMerge(apiLayer),
    Layer.provide(callLedgerLayer(config))
  )

/** The whole service listening on `config.host:config.port`. */
export const httpServerLayer = (config: LedgerConfig) =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(apiRoutesLayer(config)),
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { port: config.port, host: config.host }))
  )

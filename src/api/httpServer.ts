/**
 * The HTTP server: the Calls API (`CallLedgerApi`) with its handlers, the OpenAPI document at
 * `/openapi.json` and a docs page at `/docs`, on Node's http server, over the ledger's layer.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import { apiKeyAuthLayer } from "./apiKeyAuthLayer.js"
import { CallLedger } from "./callLedger.js"
import { callLedgerLayer } from "./callLedgerLayer.js"
import type { CallLedgerOptions } from "./callLedgerLayer.js"
import { CallLedgerApi } from "./callsApi.js"
import { CallsHandlers, RecordingsHandlers } from "./callsHandlers.js"
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
  Layer.provide([CallsHandlers, TelephonyHandlers, RecordingsHandlers, WebhooksHandlers, HealthHandlers]),
  Layer.provide(apiKeyAuthLayer)
)

const invalidBody = (error: HttpServerError.RequestError) =>
  HttpServerResponse.unsafeJson(
    {
      _tag: "InvalidRequest",
      message: `the request body could not be read: ${
        error.description ?? (error.cause instanceof Error ? error.cause.message : "not valid for its content-type")
      }`,
      field: "body"
    },
    { status: 400 }
  )

/**
 * Errors HttpApi answers with an empty body get a JSON one, like every other error: a body that
 * cannot be read as JSON (or as a form) is a 400 `InvalidRequest` naming `body` (nothing has been
 * written at that point), and a path no route matches is a 404 `RouteNotFound`.
 */
const jsonBodiesForPlatformErrors = HttpApiBuilder.middleware((app) =>
  Effect.catchAllCause(app, (cause) => {
    const defect = Cause.dieOption(cause)
    if (Option.isSome(defect) && defect.value instanceof HttpServerError.RequestError && defect.value.reason === "Decode") {
      return Effect.succeed(invalidBody(defect.value))
    }
    const failure: Option.Option<unknown> = Cause.failureOption(cause)
    if (Option.isSome(failure) && failure.value instanceof HttpServerError.RouteNotFound) {
      const request = failure.value.request
      return Effect.succeed(HttpServerResponse.unsafeJson(
        { _tag: "RouteNotFound", message: `no route for ${request.method} ${request.url.split("?")[0]}` },
        { status: 404 }
      ))
    }
    return Effect.failCause(cause)
  }))

/** Routes of the API plus `/openapi.json` and `/docs`, without a server: for tests and embedding. */
export const apiRoutesLayer = (config: LedgerConfig, options: CallLedgerOptions = {}) =>
  Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
    HttpApiScalar.layer({ path: "/docs" }),
    jsonBodiesForPlatformErrors
  ).pipe(
    Layer.provideMerge(apiLayer),
    Layer.provide(callLedgerLayer(config, options))
  )

/** Options of `httpServerLayer`: the ledger's, and how requests are traced. */
export interface HttpServerLayerOptions extends CallLedgerOptions {
  /**
   * One span per request (the `@effect/platform` HTTP tracer middleware). Off by default: `serve`
   * exports no traces, and building each span (the URL parsed again, the headers copied, a dozen
   * attributes) was a visible share of a list request's work and garbage (`npm run bench`, list
   * latency p99). Turn it on when a tracer is provided (e.g. `@effect/opentelemetry`).
   */
  readonly requestSpans?: boolean | undefined
}

/** The whole service listening on `config.host:config.port`. */
export const httpServerLayer = (config: LedgerConfig, options: HttpServerLayerOptions = {}) => {
  const served = HttpApiBuilder.serve().pipe(
    Layer.provide(apiRoutesLayer(config, options)),
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { port: config.port, host: config.host }))
  )
  return options.requestSpans === true ? served : HttpMiddleware.withTracerDisabledWhen(served, () => true)
}

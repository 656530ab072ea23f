/**
 * The list and stats figures' reference: an Effect `HttpApi` server whose `GET /v1/calls` and
 * `GET /v1/calls/stats` answer each URL with the body the ledger gave for it (read from a file at
 * start), without a query: the framework's floor for the same bytes. It runs as `call-ledger serve`
 * does (HttpApiBuilder on Node's http server, request spans off, V8's allocation-site pretenuring
 * off), so what is left between the two is the ledger's own work.
 * Built by `buildEntry` (`bench/.build/static-body-server.mjs`) and run as
 * `node static-body-server.mjs <port> <bodies.json>`, the file a JSON object of URL (path and
 * query) to body; an unknown URL is a 404.
 */
import { turnOffAllocationSitePretenuring } from "../src/api/v8Flags.js"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"

turnOffAllocationSitePretenuring()

const port = Number(process.argv[2] ?? 8082)
const bodies = new Map(Object.entries(JSON.parse(readFileSync(process.argv[3]!, "utf8")) as Record<string, string>))

const Api = HttpApi.make("static").add(
  HttpApiGroup.make("calls")
    .add(HttpApiEndpoint.get("list", "/v1/calls"))
    .add(HttpApiEndpoint.get("stats", "/v1/calls/stats"))
    .add(HttpApiEndpoint.get("health", "/health").addSuccess(Schema.Struct({ status: Schema.String })))
)

/** The stored body of the request's URL, as the ledger writes its lists (`HttpServerResponse.text`). */
const storedBody = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const body = bodies.get(request.url)
  return body === undefined
    ? HttpServerResponse.text(`no body for ${request.url}`, { status: 404 })
    : HttpServerResponse.text(body, { contentType: "application/json" })
})

const Calls = HttpApiBuilder.group(Api, "calls", (handlers) =>
  handlers
    .handle("list", () => storedBody)
    .handle("stats", () => storedBody)
    .handle("health", () => Effect.succeed({ status: "ok" })))

HttpMiddleware.withTracerDisabledWhen(
  HttpApiBuilder.serve().pipe(
    Layer.provide(HttpApiBuilder.api(Api).pipe(Layer.provide(Calls))),
    Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  ),
  () => true
).pipe(Layer.launch, NodeRuntime.runMain)

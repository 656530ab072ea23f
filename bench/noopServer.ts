/**
 * The ingest figure's reference: an Effect `HttpApi` server whose `POST /v1/calls/{id}/events`
 * decodes the same path and a JSON body and does nothing else, served the way the ledger serves
 * its API (HttpApiBuilder on Node's http server). `node noopServer.mjs <port>`.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"

const Api = HttpApi.make("noop").add(
  HttpApiGroup.make("calls")
    .add(
      HttpApiEndpoint.post("report", "/v1/calls/:id/events")
        .setPath(Schema.Struct({ id: Schema.String }))
        .setPayload(Schema.Struct({ type: Schema.String }))
        .addSuccess(Schema.Struct({ call_id: Schema.String }))
    )
    .add(HttpApiEndpoint.get("health", "/health").addSuccess(Schema.Struct({ status: Schema.String })))
)

const Calls = HttpApiBuilder.group(Api, "calls", (handlers) =>
  handlers
    .handle("report", ({ path }) => Effect.succeed({ call_id: path.id }))
    .handle("health", () => Effect.succeed({ status: "ok" })))

const port = Number(process.argv[2] ?? 8081)

HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(Api).pipe(Layer.provide(Calls))),
  HttpServer.withLogAddress,
  Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
  Layer.launch,
  NodeRuntime.runMain
)

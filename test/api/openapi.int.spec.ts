/**
 * The OpenAPI 3.1 document the service serves at `/openapi.json` against the API definition
 * itself: every route of `CallLedgerApi` with every success and error status it declares, the
 * access rules (bearer scheme, each operation's scope, public routes without security), one error
 * shape (`_tag` and `message`), and `/docs` as a self-contained page.
 */
import { HttpApi } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CallLedgerApi } from "../../src/api/callsApi.js"
import { endpointAccess } from "../../src/api/endpointAccess.js"
import type { Json } from "../fixtures/ledgerClient.js"
import { startLedgerServer } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"

interface DeclaredRoute {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly statuses: ReadonlyArray<string>
  readonly errorStatuses: ReadonlyArray<string>
}

/** Every endpoint of the definition, with the statuses it declares (its own, its group's, its middleware's). */
const declaredRoutes = (): ReadonlyArray<DeclaredRoute> => {
  const routes: Array<DeclaredRoute> = []
  HttpApi.reflect(CallLedgerApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, errors, group, successes }) => {
      routes.push({
        name: `${group.identifier}.${endpoint.name}`,
        method: endpoint.method.toLowerCase(),
        path: endpoint.path.replace(/:(\w+)\??/g, "{$1}"),
        statuses: [...successes.keys()].map(String),
        errorStatuses: [...errors.keys()].map(String)
      })
    }
  })
  return routes
}

describe("GET /openapi.json", () => {
  let server: LedgerServer
  let spec: Json
  beforeAll(async () => {
    server = await startLedgerServer()
    const response = await fetch(`${server.url}/openapi.json`)
    expect(response.status).toBe(200)
    spec = await response.json()
  })
  afterAll(async () => {
    await server?.stop()
  })

  const resolve = (schema: Json): Json => {
    if (schema?.$ref === undefined) return schema
    const name = String(schema.$ref).replace("#/components/schemas/", "")
    return spec.components.schemas[name]
  }

  it("is OpenAPI 3.1 with the API's title, version, description and bearer scheme", () => {
    expect(spec.openapi).toBe("3.1.0")
    expect(spec.info.title).toBe("call-ledger")
    expect(spec.info.version).toBe("0.1.0")
    expect(spec.info.description).toContain("Authorization: Bearer")
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" })
  })

  it("has every route of CallLedgerApi with every success and error status it declares", () => {
    const routes = declaredRoutes()
    expect(routes.length).toBeGreaterThanOrEqual(15)
    const missing: Array<string> = []
    for (const route of routes) {
      const op = spec.paths[route.path]?.[route.method]
      if (op === undefined) {
        missing.push(`${route.method.toUpperCase()} ${route.path} (${route.name})`)
        continue
      }
      for (const status of [...route.statuses, ...route.errorStatuses]) {
        if (op.responses[status] === undefined) missing.push(`${status} of ${route.method.toUpperCase()} ${route.path}`)
      }
    }
    expect(missing).toEqual([])
    // And nothing the definition does not have.
    const documented = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`)
    )
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort())
  })

  it("names each operation's scope, and keeps public routes without security", () => {
    for (const rule of endpointAccess(CallLedgerApi)) {
      const op = spec.paths[rule.openApiPath][rule.method.toLowerCase()]
      if (rule.scope === null) {
        expect(op.security, `${rule.method} ${rule.path}`).toEqual([])
      } else {
        expect(op.security, `${rule.method} ${rule.path}`).toEqual([{ bearer: [rule.scope] }])
        expect(op.description).toContain(`Scope: \`${rule.scope}\``)
        for (const status of ["401", "403", "429"]) expect(op.responses[status], `${status} of ${rule.method} ${rule.path}`).toBeDefined()
        expect(op.responses["429"].headers["Retry-After"].schema.type).toBe("integer")
      }
    }
  })

  it("has the must-haves: seed routes, their errors, scopes and limits", () => {
    const op = (method: string, path: string) => {
      const found = spec.paths[path]?.[method]
      expect(found, `${method} ${path}`).toBeDefined()
      return found
    }
    const create = op("post", "/v1/calls")
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "403", "409", "429"]))
    expect(create.security).toEqual([{ bearer: ["voice:calls:write"] }])
    expect(create.description).toContain("Rate limit: 30 requests a minute")
    expect(op("get", "/v1/calls").security).toEqual([{ bearer: ["voice:calls:read"] }])
    expect(op("get", "/v1/calls/{id}").responses["404"]).toBeDefined()
    expect(op("get", "/v1/calls/{id}/transcript").security).toEqual([{ bearer: ["voice:calls:read"] }])
    expect(op("get", "/v1/calls/stats").security).toEqual([{ bearer: ["voice:calls:read"] }])
    expect(op("post", "/v1/calls/{id}/events").security).toEqual([{ bearer: ["voice:calls:write"] }])
    expect(op("post", "/v1/webhooks/endpoints").security).toEqual([{ bearer: ["webhooks:write"] }])
    expect(op("delete", "/v1/webhooks/endpoints/{id}").responses["404"]).toBeDefined()
    const twilio = op("post", "/v1/telephony/twilio/status")
    expect(twilio.security).toEqual([])
    expect(twilio.responses["403"]).toBeDefined()
    expect(op("get", "/health").security).toEqual([])
    const transfer = spec.paths["/v1/calls/{id}/transfer"]?.post
    if (transfer !== undefined) {
      expect(transfer.description).toContain("Rate limit: 10 requests a minute")
      expect(Object.keys(transfer.responses)).toEqual(expect.arrayContaining(["409", "429", "503"]))
    }
  })

  it("gives every error one shape: an object with _tag and message", () => {
    const problems: Array<string> = []
    let checked = 0
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          if (Number(status) < 400) continue
          const schema = resolve(response.content?.["application/json"]?.schema)
          const members: Array<Json> = schema?.anyOf?.map(resolve) ?? [schema]
          for (const member of members) {
            checked++
            if (member?.type !== "object" || !member.required?.includes("_tag") || !member.required?.includes("message")) {
              problems.push(`${status} of ${method.toUpperCase()} ${path}: ${JSON.stringify(member)?.slice(0, 120)}`)
            }
          }
        }
      }
    }
    expect(problems).toEqual([])
    expect(checked).toBeGreaterThan(50)
  })
})

describe("GET /docs", () => {
  it("is a self-contained page: the document and the Scalar script inlined, nothing from a CDN", async () => {
    const server = await startLedgerServer()
    try {
      const response = await fetch(`${server.url}/docs`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/html")
      const html = await response.text()
      expect(html).toContain(`<script id="api-reference" type="application/json">`)
      expect(html).toContain("/v1/calls/{id}/transcript")
      expect(html).not.toMatch(/<script[^>]+src=/)
      expect(html.length).toBeGreaterThan(1_000_000)
    } finally {
      await server.stop()
    }
  })
})

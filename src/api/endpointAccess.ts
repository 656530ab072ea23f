/**
 * Who may call each endpoint, read from the API definition: endpoints behind `ApiKeyAuth` need the
 * scope of their `RequiredScope` annotation (the endpoint's own, else its group's) and count against
 * their `RateLimitClass`; the rest are public (authenticated otherwise, like Twilio's signature).
 * The middleware, the OpenAPI document and the tests all read this one table.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as OpenApi from "@effect/platform/OpenApi"
import { Context, Option } from "effect"
import { ApiKeyAuth } from "./apiKeyAuth.js"
import { RequiredScope } from "./apiScopes.js"
import type { ApiScope } from "./apiScopes.js"
import { defaultRateLimits, RateLimitClass } from "./rateLimits.js"
import type { RateLimitClassName } from "./rateLimits.js"

export interface EndpointAccess {
  readonly group: string
  readonly endpoint: string
  readonly method: string
  /** As the router has it, `/v1/calls/:id`. */
  readonly path: string
  /** As OpenAPI writes it, `/v1/calls/{id}`. */
  readonly openApiPath: string
  /** null: public, no API key. */
  readonly scope: ApiScope | null
  readonly rateLimitClass: RateLimitClassName | null
}

/** `GET /v1/calls/:id`: how the middleware finds a request's endpoint from its route. */
export const routeKey = (method: string, path: string): string => `${method.toUpperCase()} ${path}`

/** Every endpoint of `api` with its access rule; throws when an endpoint behind `ApiKeyAuth` names no scope. */
export const endpointAccess = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): ReadonlyArray<EndpointAccess> => {
  const rules: Array<EndpointAccess> = []
  HttpApi.reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group, mergedAnnotations, middleware }) => {
      const secured = [...middleware].some((m) => m.key === ApiKeyAuth.key)
      const scope = Context.getOption(mergedAnnotations, RequiredScope)
      if (secured && Option.isNone(scope)) {
        throw new Error(`endpoint ${group.identifier}.${endpoint.name} (${endpoint.method} ${endpoint.path}) is behind ApiKeyAuth but has no RequiredScope annotation`)
      }
      rules.push({
        group: group.identifier,
        endpoint: endpoint.name,
        method: endpoint.method,
        path: endpoint.path,
        openApiPath: endpoint.path.replace(/:(\w+)\??/g, "{$1}"),
        scope: secured ? Option.getOrNull(scope) : null,
        rateLimitClass: secured ? Option.getOrNull(Context.getOption(mergedAnnotations, RateLimitClass)) : null
      })
    }
  })
  return rules
}

/**
 * An `OpenApi.Transform` writing the access rules into the document: each secured operation's
 * security requirement lists its scope (OpenAPI 3.1 allows role names for non-OAuth schemes), its
 * description says scope and default rate limit, and each 429 response declares `Retry-After`.
 */
export const documentEndpointAccess = (rules: () => ReadonlyArray<EndpointAccess>) => (spec: Record<string, any>): Record<string, any> => {
  const paths = (spec as OpenApi.OpenAPISpec).paths as Record<string, Record<string, OpenApi.OpenAPISpecOperation | undefined>>
  for (const rule of rules()) {
    const op = paths[rule.openApiPath]?.[rule.method.toLowerCase()]
    if (op === undefined || rule.scope === null) continue
    op.security = [{ bearer: [rule.scope] }]
    const limit = rule.rateLimitClass === null
      ? ""
      : ` Rate limit: ${defaultRateLimits[rule.rateLimitClass]} requests a minute per key by default (class \`${rule.rateLimitClass}\`, set with \`LEDGER_RATE_LIMITS\`).`
    op.description = `${op.description === undefined ? "" : `${op.description}\n\n`}Scope: \`${rule.scope}\`.${limit}`
    const tooMany = op.responses[429] as (OpenApi.OpenApiSpecResponse & { headers?: Record<string, unknown> }) | undefined
    if (tooMany !== undefined) {
      tooMany.headers = {
        "Retry-After": { description: "Seconds until this key may call this route class again", schema: { type: "integer", minimum: 1 } }
      }
    }
  }
  return spec
}

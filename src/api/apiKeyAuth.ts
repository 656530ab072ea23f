/**
 * The API-key middleware of the HTTP API: a bearer key (`Authorization: Bearer clk_...`) with the
 * scope the endpoint's `RequiredScope` annotation names, within the key's rate limit for the
 * endpoint's `RateLimitClass`. Applied per group (`.middleware(ApiKeyAuth)`); its implementation is
 * `apiKeyAuthLayer`. Answers 401 `Unauthorized`, 403 `InsufficientScope`, 429 `RateLimitExceeded`.
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { InsufficientScope, RateLimitExceeded, Unauthorized } from "./apiErrors.js"

/** The security scheme, as named in the OpenAPI document (`components.securitySchemes.bearer`). */
export const bearerApiKey = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(OpenApi.Format, "clk_ API key"),
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "An API key made with `call-ledger keys create --name NAME --scope SCOPE`, shown once. Each operation lists the scope it needs."
  )
)

export class ApiKeyAuth extends HttpApiMiddleware.Tag<ApiKeyAuth>()("call-ledger/ApiKeyAuth", {
  failure: Schema.Union(Unauthorized, InsufficientScope, RateLimitExceeded),
  security: { bearer: bearerApiKey }
}) {}

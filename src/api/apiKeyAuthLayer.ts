/**
 * `ApiKeyAuth`'s implementation. With `requireApiKey` off (development mode, the default) every
 * request passes unchecked. With it on, a request needs a stored, unrevoked key (401), holding the
 * endpoint's scope (403), within the key's limit for the endpoint's route class (429 with
 * `Retry-After`); limited routes answer `X-RateLimit-Limit` and `X-RateLimit-Remaining`.
 * Keys are looked up in the ledger file on each request, so `keys revoke` acts at once.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect, Layer, Redacted } from "effect"
import { LedgerDatabase } from "../store/sqlite/sqliteDatabase.js"
import { InsufficientScope, RateLimitExceeded, Unauthorized } from "./apiErrors.js"
import { ApiKeyAuth } from "./apiKeyAuth.js"
import { apiKeyLookup } from "./apiKeys.js"
import { CallLedgerApi } from "./callsApi.js"
import { endpointAccess, routeKey } from "./endpointAccess.js"
import { LedgerSettings } from "./ledgerConfig.js"
import { makeRateLimiter } from "./rateLimiter.js"

const bearerPrefix = /^bearer\s+/i

const withHeaders = (headers: Record<string, string>) =>
  HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(HttpServerResponse.setHeaders(response, headers)))

/** 401 with RFC 6750's challenge. */
const unauthorized = (message: string, error?: string) =>
  withHeaders({ "www-authenticate": `Bearer realm="call-ledger"${error === undefined ? "" : `, error="${error}"`}` }).pipe(
    Effect.zipRight(Effect.fail(new Unauthorized({ message })))
  )

export const apiKeyAuthLayer = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function*() {
    const settings = yield* LedgerSettings
    const db = yield* LedgerDatabase
    const keys = apiKeyLookup(db)
    const limiter = makeRateLimiter()
    const rules = new Map(endpointAccess(CallLedgerApi).map((rule) => [routeKey(rule.method, rule.path), rule]))
    if (settings.requireApiKey && (db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL").get() as { n: number }).n === 0) {
      yield* Effect.logWarning("API keys are required but none exists: every API request is a 401 until `call-ledger keys create` makes one")
    }

    const check = (token: Redacted.Redacted) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const header = request.headers["authorization"] ?? ""
        if (header.trim() === "") return yield* unauthorized("an API key is required: send `Authorization: Bearer clk_...`")
        if (!bearerPrefix.test(header)) return yield* unauthorized("the Authorization header must be `Bearer <API key>`", "invalid_request")
        const key = keys.find(Redacted.value(token).trim())
        if (key === null) return yield* unauthorized("the API key is not valid or was revoked", "invalid_token")

        const { route } = yield* HttpRouter.RouteContext
        const rule = rules.get(routeKey(route.method, String(route.path)))
        if (rule === undefined || rule.scope === null) return yield* Effect.dieMessage(`no access rule for ${route.method} ${String(route.path)}`)
        if (!key.scopes.includes(rule.scope)) {
          yield* withHeaders({ "www-authenticate": `Bearer realm="call-ledger", error="insufficient_scope", scope="${rule.scope}"` })
          return yield* new InsufficientScope({ message: `the API key lacks the scope ${rule.scope}`, required_scope: rule.scope })
        }

        const now = yield* Clock.currentTimeMillis
        keys.touch(key.id, now)
        if (rule.rateLimitClass === null) return
        const perMinute = settings.rateLimits[rule.rateLimitClass]
        const decision = limiter.take(`${key.id} ${rule.rateLimitClass}`, perMinute, now)
        const headers: Record<string, string> = { "x-ratelimit-limit": String(perMinute), "x-ratelimit-remaining": String(decision.remaining) }
        if (!decision.allowed) headers["retry-after"] = String(decision.retryAfterSeconds)
        yield* withHeaders(headers)
        if (!decision.allowed) {
          return yield* new RateLimitExceeded({
            message: `rate limit of ${perMinute} requests a minute for ${rule.rateLimitClass} reached; retry after ${decision.retryAfterSeconds} s`,
            route_class: rule.rateLimitClass,
            limit_per_minute: perMinute,
            retry_after_seconds: decision.retryAfterSeconds
          })
        }
      })

    return ApiKeyAuth.of({ bearer: (token) => (settings.requireApiKey ? check(token) : Effect.void) })
  })
)

/**
 * What an API key may do (seed 002's scopes), and the endpoint annotation that says which scope an
 * endpoint needs. An endpoint's own `RequiredScope` wins over its group's.
 */
import { Context, Schema } from "effect"

/** Every scope a key can hold. */
export const apiScopes = ["voice:calls:read", "voice:calls:write", "webhooks:write"] as const

export const ApiScope = Schema.Literal(...apiScopes)
export type ApiScope = typeof ApiScope.Type

export const isApiScope = (value: string): value is ApiScope => (apiScopes as ReadonlyArray<string>).includes(value)

/** Endpoint (or group) annotation: the scope a key needs to call it. */
export class RequiredScope extends Context.Tag("call-ledger/RequiredScope")<RequiredScope, ApiScope>() {}

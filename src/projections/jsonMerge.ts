/** Deep merge of JSON objects, as `key_details` write-backs use it (seed 002 "Merges into the key_details field"). */
import type { JsonObject } from "../domain/values.js"

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Returns `base` with `patch` merged in: nested objects merge key by key, anything else
 * (arrays, scalars, null) in `patch` replaces the value. Inputs are not modified.
 */
export const mergeJson = (base: JsonObject, patch: JsonObject): JsonObject => {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key]
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeJson(current, value) : value
  }
  return out
}

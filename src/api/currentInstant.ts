/** Now, from Effect's `Clock`, as an ISO-8601 UTC instant (what commands without a source time carry). */
import { Clock, Effect } from "effect"

export const nowIso: Effect.Effect<string> = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

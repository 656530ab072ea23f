/**
 * V8 settings a ledger applies to the process it runs in: allocation-site pretenuring is turned
 * off when `callLedgerLayer` is built (under `openCallLedger`, `httpServerLayer` and
 * `apiRoutesLayer` too) and before any other module of the `call-ledger` command is evaluated.
 * The lower-level parts (`handleCallCommand` over a store, `openSqliteDatabase`,
 * `makeProjectionRunner`, the webhook dispatcher) do not touch it; a service using them alone can
 * call `turnOffAllocationSitePretenuring` itself. The flag is process-wide:
 * `LEDGER_V8_PRETENURING=true` (or `on`, `yes`, `1`) in the environment leaves V8's default; it is
 * a switch of the process, not of one ledger, so it has no `LedgerConfig` field or `serve` flag.
 *
 * Why: with pretenuring, V8 sees some objects of an allocation site survive young-generation
 * collections and from then on allocates that site's objects straight into the old generation.
 * The command path's short-lived objects fool it (Effect's `async` resumptions, the catch-up
 * subscription's pages, the group commit's batches, in a sampled profile of what survived
 * scavenges), and so does the HTTP stack's response path: they die in the old generation, which
 * grew ~1.5 MB per scavenge up to each full collection. Measured on Node 20.20, the flag set
 * before the workload (`npm run bench` and harnesses over the same code, bench/README.md):
 * - the append figure's command path, 256 calls at once, three runs alternating: CPU 15.0 / 16.6 /
 *   16.6 s → 11.7 / 12.7 / 10.6 s, 17.4k / 15.7k / 16.1k → 21.6k / 19.8k / 23.7k events/s;
 * - `CallLedger.execute` one at a time: the scavenges inside the slow commands took 4.4 to 5.4 ms
 *   on average, 2.3 to 2.4 ms without; p99 3.9 to 4.5 → 2.0 to 2.6 ms;
 * - serving `GET /v1/calls` on 1M calls (the `call-ledger` process): `arrayBuffers` grew 1.4 MB per
 *   scavenge with it and 0.65 MB without, full collections per 6,000 requests fell from 6 to 3 or 4.
 * Node documents `v8.setFlagsFromString` after start as possibly having no effect; this flag was
 * measured to take effect. Allocation sites V8 already pretenured before it was set may stay so,
 * so the earlier in the process, the better.
 */
import { setFlagsFromString } from "node:v8"

// On `globalThis`, so two copies of this module (a bundle and the sources, two installs) still
// set the flag once per process.
const applied = Symbol.for("call-ledger/v8-allocation-site-pretenuring")
const keepsPretenuring = (value: string | undefined): boolean =>
  value !== undefined && ["true", "on", "yes", "y", "1"].includes(value.trim().toLowerCase())

/**
 * Turns V8's allocation-site pretenuring off for this process, once, unless
 * `LEDGER_V8_PRETENURING` says to keep it (`true`, `on`, `yes`, `y`, `1`).
 */
export const turnOffAllocationSitePretenuring = (): void => {
  const state = globalThis as { [applied]?: true }
  if (state[applied] === true) return
  state[applied] = true
  if (keepsPretenuring(process.env.LEDGER_V8_PRETENURING)) return
  setFlagsFromString("--no-allocation-site-pretenuring")
}

/**
 * V8 settings a ledger applies to the process it runs in: allocation-site pretenuring is turned
 * off, once, process-wide, when a ledger's database opens (`ledgerDatabaseLayer`, under every
 * `callLedgerLayer` and `openCallLedger`) and before any other module of the `call-ledger`
 * command is evaluated. `LEDGER_V8_PRETENURING=on` in the environment leaves V8's default.
 *
 * Why: with pretenuring, V8 sees some objects of an allocation site survive young-generation
 * collections and from then on allocates that site's objects straight into the old generation.
 * Effect's runtime (fibers, continuations of commands waiting for their group commit or their
 * projection batch) and the HTTP stack's response path fool it: their objects die young, but once
 * pretenured they die in the old generation, each scavenge has more old-to-young pointers to
 * visit, and full collections come often. Measured (`npm run bench` and harnesses over the same
 * code):
 * - append throughput, the command path with 256 calls at once: CPU 15.0 to 16.6 s → 10.6 to
 *   12.7 s, 15.7k to 17.4k → 19.8k to 23.7k events/s, in three runs alternating the two;
 * - `CallLedger.execute` one at a time: scavenges 4.4 to 5.4 ms → 2.3 to 2.4 ms on average, p99
 *   3.9 to 4.5 → 2.0 to 2.6 ms;
 * - serving `GET /v1/calls` on 1M calls (the `call-ledger` process): `arrayBuffers` grew 1.4 MB per
 *   scavenge with it and 0.65 MB without, full collections per 6,000 requests fell from 6 to 3 or 4.
 * It is a flag V8 reads while it runs (unlike heap sizes), so it works when set after start.
 */
import { setFlagsFromString } from "node:v8"

/** What the ledger did to V8's allocation-site pretenuring in this process. */
export type PretenuringSetting = "untouched" | "off" | "left on (LEDGER_V8_PRETENURING=on)"

let setting: PretenuringSetting = "untouched"

/**
 * Turns V8's allocation-site pretenuring off for this process, unless `LEDGER_V8_PRETENURING=on`;
 * the first call decides, later ones do nothing. Returns what was done.
 */
export const turnOffAllocationSitePretenuring = (): PretenuringSetting => {
  if (setting !== "untouched") return setting
  if (process.env.LEDGER_V8_PRETENURING === "on") {
    setting = "left on (LEDGER_V8_PRETENURING=on)"
    return setting
  }
  setFlagsFromString("--no-allocation-site-pretenuring")
  setting = "off"
  return setting
}

/** What `turnOffAllocationSitePretenuring` did in this process so far. */
export const allocationSitePretenuring = (): PretenuringSetting => setting

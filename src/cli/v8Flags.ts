/**
 * V8 settings of the `call-ledger` process, applied before any other module is evaluated
 * (`main.ts` imports this first).
 *
 * Allocation-site pretenuring is off. With it, V8 saw objects of the HTTP stack's response path
 * survive young-generation collections and began allocating them straight into the old
 * generation, where they die and wait for a full collection, each one a 30 to 60 ms burst of
 * slow requests. Serving `GET /v1/calls` on 1M calls: `arrayBuffers` grew 1.4 MB per scavenge
 * with it and 0.65 MB without, full collections per 6,000 requests fell from 6 to 3 or 4, and
 * the queries figure of `npm run bench` had list p99 under 5 ms on 21 and 27 of 30 rows against
 * 14 and 19 in the runs alternating with them.
 */
import { setFlagsFromString } from "node:v8"

setFlagsFromString("--no-allocation-site-pretenuring")

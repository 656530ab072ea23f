/**
 * V8 settings of the `call-ledger` process, applied before any other module is evaluated
 * (`main.ts` imports this first); why, in `api/v8Flags.ts`.
 */
import { turnOffAllocationSitePretenuring } from "../api/v8Flags.js"

turnOffAllocationSitePretenuring()

/**
 * V8 settings of the `call-ledger` process, applied before any other module is evaluated
 * (`main.ts` imports this first); why, in `runtime/v8Flags.ts`.
 */
import { turnOffAllocationSitePretenuring } from "../runtime/v8Flags.js"

turnOffAllocationSitePretenuring()

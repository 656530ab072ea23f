/**
 * The `Dialer` port: what places, transfers and hangs up the calls the ledger records. Every call
 * `POST /v1/calls` or `POST /v1/calls/batch` records (`CallDialed`, status `queued`) is handed to
 * `dial`, at the dialing pace (`dialQueue.ts`). Adapters:
 * - `noDialerLayer` (`LEDGER_DIALER=none`, default): accepts and does nothing; whoever drives the
 *   call reports it (`POST /v1/calls/{id}/events`, Twilio status callbacks).
 * - `simulatedDialerLayer` (`LEDGER_DIALER=simulated`): plays a realistic lifecycle through the
 *   ledger's write path, for development.
 *
 * A real telephony integration is a `Layer` of this tag. For Twilio it would be:
 * - `dial`: `client.calls.create({ to, from, url: <TwiML of the voice agent>, statusCallback:
 *   request.statusCallbackUrl, statusCallbackEvent: ["initiated", "ringing", "answered", "completed"] })`
 *   and answer `{ callSid: call.sid }`; a refusal (invalid number, no permission) fails with
 *   `DialFailed` and its message. The ledger then learns the call's progress from the status
 *   callbacks at `statusCallbackUrl` (`POST /v1/telephony/twilio/status?call_id=`), not from `dial`.
 * - `transfer`: `client.calls(callSid).update({ twiml: <Dial><Queue>target</Queue></Dial> })`, the
 *   brief and context going to the agent's screen; fail with `TelephonyActionFailed`.
 * - `hangup`: `client.calls(callSid).update({ status: "completed" })`.
 * The ledger records a transfer or an end only after the port's method succeeded.
 */
import { Context, Data, Effect, Layer } from "effect"
import type { JsonObject, WorkflowEndReason } from "../../domain/values.js"

/** A call for the dialer to place. The ledger has recorded it already (status `queued`). */
export interface DialRequest {
  readonly callId: string
  /** E.164. */
  readonly to: string
  /** E.164 caller id, or null for the provider's default. */
  readonly from: string | null
  readonly contactName: string | null
  readonly campaignId: string | null
  readonly agentId: string | null
  readonly scriptId: string | null
  /** BCP-47, or null. */
  readonly language: string | null
  /** Script variables (seed 001 `metadata`). */
  readonly metadata: JsonObject
  /** Where the provider posts status callbacks for this call (Twilio `StatusCallback`), with `call_id`. */
  readonly statusCallbackUrl: string
}

/** The provider took the call; `callSid` is its id for it (Twilio CallSid), null when it has none yet. */
export interface DialAccepted {
  readonly callSid: string | null
}

/** The provider refused the call (seed 004: `"error": "Invalid number"`). `reason` is shown to API users. */
export class DialFailed extends Data.TaggedError("DialFailed")<{ readonly reason: string }> {}

/** The provider failed a transfer or a hang-up. `reason` is shown to API users. */
export class TelephonyActionFailed extends Data.TaggedError("TelephonyActionFailed")<{ readonly reason: string }> {}

/** Bridge a live call to a human agent queue (seed 002 transfer). */
export interface TransferRequest {
  readonly callId: string
  readonly callSid: string | null
  readonly target: string
  /** At most 280 characters, shown to the receiving agent. */
  readonly agentBrief: string | null
  readonly context: JsonObject
}

/** Terminate a call (seed 002 end). */
export interface HangupRequest {
  readonly callId: string
  readonly callSid: string | null
  readonly reason: WorkflowEndReason
}

export interface DialerService {
  /** `none`, `simulated`, or the integration's name. */
  readonly name: string
  /** Places the call; answers once the provider accepted it (not when it is answered). */
  readonly dial: (request: DialRequest) => Effect.Effect<DialAccepted, DialFailed>
  readonly transfer: (request: TransferRequest) => Effect.Effect<void, TelephonyActionFailed>
  readonly hangup: (request: HangupRequest) => Effect.Effect<void, TelephonyActionFailed>
}

/** The `Dialer` port. */
export class Dialer extends Context.Tag("call-ledger/Dialer")<Dialer, DialerService>() {}

/** `LEDGER_DIALER=none`: accepts every call and action and does nothing. */
export const noDialerLayer: Layer.Layer<Dialer> = Layer.succeed(Dialer, {
  name: "none",
  dial: () => Effect.succeed({ callSid: null }),
  transfer: () => Effect.void,
  hangup: () => Effect.void
})

/**
 * Turns the agent pipeline's reports (`POST /v1/calls/{id}/events`) and `POST /v1/calls` bodies into
 * decider commands. `commandId` comes from the report's `command_id`, else the `Idempotency-Key`
 * header, else a fresh UUID (no deduplication).
 */
import type { CallCommand, DialCall } from "../domain/callCommands.js"
import type { CallEventReport, CreateCallBody } from "./callRequests.js"
import type { DialDetails } from "./dialer/dialJobs.js"
import { toUtcInstant } from "../projections/utcInstant.js"


/** The decider command for one agent-pipeline report. `now` (ISO) is used when `occurred_at` is absent. */
export const commandForReport = (callId: string, report: CallEventReport, commandId: string, now: string): CallCommand => {
  const base = { callId, commandId: report.command_id ?? commandId, at: report.occurred_at === undefined ? now : toUtcInstant(report.occurred_at) }
  switch (report.type) {
    case "answered":
      return { ...base, type: "AnswerCall", answeredBy: report.answered_by ?? "human" }
    case "transcribed":
      return {
        ...base,
        type: "RecordTranscript",
        segments: report.segments.map((s) => ({
          speaker: s.speaker, text: s.text, startTime: s.start_time, endTime: s.end_time, confidence: s.confidence ?? null
        })),
        language: report.language ?? null,
        final: report.final ?? true,
        jobId: report.job_id ?? null
      }
    case "dispositioned":
      return {
        ...base,
        type: "SetDisposition",
        disposition: report.disposition ?? null,
        outcome: report.outcome ?? null,
        sentiment: report.sentiment ?? null,
        sentimentScore: report.sentiment_score == null
          ? null
          : { overall: report.sentiment_score.overall, bySpeaker: report.sentiment_score.by_speaker ?? {} },
        summary: report.summary ?? null,
        keyDetails: report.key_details ?? null
      }
    case "transferred":
      return { ...base, type: "TransferCall", target: report.target, agentBrief: report.agent_brief ?? null, context: report.context ?? {} }
    case "ended":
      return {
        ...base,
        type: "EndCall",
        reason: report.reason,
        status: report.status ?? null,
        outcome: report.outcome ?? null,
        durationSeconds: report.duration_seconds ?? null,
        errorReason: report.error_reason ?? null
      }
    case "recording":
      return {
        ...base,
        type: "AttachRecording",
        recordingRef: report.recording_url,
        contentType: report.content_type ?? "audio/mpeg",
        durationSeconds: report.duration_seconds ?? null
      }
    case "metrics":
      return {
        ...base,
        type: "RecordMetrics",
        cost: report.cost ?? null,
        latency: report.latency == null
          ? null
          : { transcriberMs: report.latency.transcriber_ms, agentMs: report.latency.agent_ms, synthesizerMs: report.latency.synthesizer_ms },
        providerUsage: report.provider_usage ?? null
      }
    case "metadata":
      return { ...base, type: "MergeMetadata", keyDetails: report.key_details }
  }
}

/** What a `POST /v1/calls` body says of the call besides its number, as the dial queue keeps it. */
export const dialDetailsOfBody = (body: CreateCallBody): DialDetails => ({
  from: body.from_number ?? null,
  contactName: body.name ?? body.contact_name ?? null,
  contactId: body.contact_id ?? null,
  campaignId: body.campaign_id ?? null,
  agentId: body.agent_id ?? null,
  agentName: body.agent_name ?? null,
  scriptId: body.script_id ?? null,
  language: body.language ?? null,
  metadata: body.metadata ?? {}
})

/** The destination of a `POST /v1/calls` body (E.164): `phone`, `to` or `to_number`, whichever it gave. */
export const destinationOfBody = (body: CreateCallBody): string => (body.phone ?? body.to ?? body.to_number)!

/**
 * The `DialCall` of an outbound telephony call the ledger places (status `queued`): the one
 * builder for `POST /v1/calls` and for each number of a batch (seed 004), so both record the same
 * fields. `provider` is the dialer's name (`Dialer.name`), null when none places calls.
 */
export const outboundDialCommand = (call: {
  readonly callId: string
  readonly commandId: string
  readonly at: string
  readonly to: string
  readonly details: DialDetails
  readonly provider: string | null
  readonly callSid: string | null
}): DialCall => {
  const d = call.details
  return {
    type: "DialCall",
    commandId: call.commandId,
    callId: call.callId,
    at: call.at,
    direction: "outbound",
    callType: "telephony_outbound",
    status: "queued",
    from: d.from,
    to: call.to,
    contact: { phone: call.to, name: d.contactName, id: d.contactId },
    campaignId: d.campaignId,
    agentId: d.agentId,
    agentName: d.agentName,
    scriptId: d.scriptId,
    language: d.language,
    metadata: d.metadata,
    provider: call.provider,
    callSid: call.callSid
  }
}

/** The `DialCall` command for a `POST /v1/calls` body placed through `provider`. */
export const dialCommandForBody = (
  callId: string,
  body: CreateCallBody,
  commandId: string,
  now: string,
  provider: string | null
): DialCall =>
  outboundDialCommand({
    callId, commandId, at: now, to: destinationOfBody(body), details: dialDetailsOfBody(body), provider, callSid: body.call_sid ?? null
  })

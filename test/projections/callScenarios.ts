/**
 * Test fixtures for the read side: a ledger (memory log + read models in a real SQLite file in a
 * temp folder), commands sent through the real write path, realistic call lifecycles, and a seeded
 * generator of many calls.
 */
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { CallCommand, DialCall, TelephonyStatus } from "../../src/domain/callCommands.js"
import type { Disposition, EndReason, Outcome, Sentiment } from "../../src/domain/values.js"
import { handleCallCommand } from "../../src/store/callCommandHandler.js"
import type { CommandResult } from "../../src/store/callCommandHandler.js"
import { EventStore } from "../../src/store/eventStore.js"
import type { EventStoreService } from "../../src/store/eventStore.js"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import { openSqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import type { SqliteDatabase } from "../../src/store/sqlite/sqliteDatabase.js"
import { allProjections } from "../../src/projections/index.js"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.js"
import type { ProjectionRunner, ProjectionRunnerOptions } from "../../src/projections/projectionRunner.js"
import type { Projection } from "../../src/projections/projection.js"
import { seededRandom } from "../../src/cli/simulate/seededRandom.js"

/** A temp folder removed by `cleanup`. */
export const makeTempDir = (): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "call-ledger-projections-"))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Sends commands through `handleCallCommand` against `store`, in order; fails the test on a rule violation. */
export const send = (store: EventStoreService, ...commands: ReadonlyArray<CallCommand>): Promise<Array<CommandResult>> =>
  Effect.runPromise(
    Effect.forEach(commands, (c) => handleCallCommand(c)).pipe(Effect.provideService(EventStore, store))
  )

/** Builds a runner and opens its database file. */
export const openRunner = (
  path: string,
  store: EventStoreService,
  projections: ReadonlyArray<Projection> = allProjections,
  options?: ProjectionRunnerOptions
): Promise<{ db: SqliteDatabase; runner: ProjectionRunner }> => {
  const db = openSqliteDatabase(path)
  return Effect.runPromise(makeProjectionRunner(db, store, projections, options)).then((runner) => ({ db, runner }))
}

/** A store, a db file and a runner over all projections; `catchUp` applies the log. */
export const makeLedger = async (options?: ProjectionRunnerOptions) => {
  const temp = makeTempDir()
  const store = makeMemoryEventStore()
  const { db, runner } = await openRunner(join(temp.dir, "ledger.db"), store, allProjections, options)
  return {
    ...temp,
    store,
    db,
    runner,
    send: (...commands: ReadonlyArray<CallCommand>) => send(store, ...commands),
    catchUp: () => Effect.runPromise(runner.catchUp),
    close: () => {
      db.close()
      temp.cleanup()
    }
  }
}

let commandCounter = 0
const nextCommandId = (): string => `cmd_${++commandCounter}`

/** ISO instant `seconds` after `start`. */
export const after = (start: string, seconds: number): string => new Date(Date.parse(start) + seconds * 1000).toISOString()

/** Options of a dialed call; defaults make an outbound telephony call of campaign `cmp_a`. */
export type DialOptions = Partial<Omit<DialCall, "type" | "commandId" | "callId" | "at">>

export const dial = (callId: string, at: string, options: DialOptions = {}): DialCall => ({
  type: "DialCall",
  commandId: nextCommandId(),
  callId,
  at,
  direction: "outbound",
  callType: "telephony_outbound",
  status: "queued",
  from: "+15550010000",
  to: "+919876543210",
  contact: { phone: options.to ?? "+919876543210", name: "Priya Sharma", id: "cst_1" },
  campaignId: "cmp_a",
  agentId: "agt_1",
  agentName: "Aria",
  scriptId: "scr_1",
  language: "hi-IN",
  metadata: {},
  provider: "twilio",
  callSid: null,
  ...options
})

/** A Twilio status callback for a known call. */
export const telephony = (
  callId: string,
  at: string,
  status: TelephonyStatus,
  sequenceNumber: number,
  extra: { durationSeconds?: number; answeredBy?: "human" | "machine" | "unknown"; callSid?: string; errorReason?: string } = {}
): CallCommand => ({
  type: "ReportTelephonyStatus",
  commandId: nextCommandId(),
  callId,
  at,
  callSid: extra.callSid ?? `CA${callId}`,
  status,
  sequenceNumber,
  durationSeconds: extra.durationSeconds ?? null,
  answeredBy: extra.answeredBy ?? null,
  errorReason: extra.errorReason ?? null,
  inbound: null
})

export const answer = (callId: string, at: string, answeredBy: "human" | "machine" = "human"): CallCommand => ({
  type: "AnswerCall", commandId: nextCommandId(), callId, at, answeredBy
})

export const transcript = (
  callId: string,
  at: string,
  segments: ReadonlyArray<{ speaker: "agent" | "customer"; text: string; startTime: number; endTime: number; confidence: number | null }>,
  final: boolean,
  language: string | null = null,
  jobId: string | null = null
): CallCommand => ({
  type: "RecordTranscript", commandId: nextCommandId(), callId, at, segments, final, language, jobId
})

export const disposition = (
  callId: string,
  at: string,
  d: {
    disposition?: Disposition | null
    outcome?: Outcome | null
    sentiment?: Sentiment | null
    sentimentScore?: { overall: number; bySpeaker: Record<string, number> } | null
    summary?: string | null
    keyDetails?: Record<string, unknown> | null
  }
): CallCommand => ({
  type: "SetDisposition",
  commandId: nextCommandId(),
  callId,
  at,
  disposition: d.disposition ?? null,
  outcome: d.outcome ?? null,
  sentiment: d.sentiment ?? null,
  sentimentScore: d.sentimentScore ?? null,
  summary: d.summary ?? null,
  keyDetails: d.keyDetails ?? null
})

export const end = (
  callId: string,
  at: string,
  reason: EndReason,
  extra: { status?: "completed" | "failed" | "no_answer" | "busy" | "canceled"; outcome?: Outcome; durationSeconds?: number } = {}
): CallCommand => ({
  type: "EndCall",
  commandId: nextCommandId(),
  callId,
  at,
  reason,
  status: extra.status ?? null,
  outcome: extra.outcome ?? null,
  durationSeconds: extra.durationSeconds ?? null,
  errorReason: null
})

export const transfer = (callId: string, at: string, target: string, agentBrief: string, context: Record<string, unknown>): CallCommand => ({
  type: "TransferCall", commandId: nextCommandId(), callId, at, target, agentBrief, context
})

export const mergeMetadata = (callId: string, at: string, keyDetails: Record<string, unknown>): CallCommand => ({
  type: "MergeMetadata", commandId: nextCommandId(), callId, at, keyDetails
})

export const metrics = (
  callId: string,
  at: string,
  m: { cost: number | null; latency: { transcriberMs: number; agentMs: number; synthesizerMs: number } | null; providerUsage: Record<string, unknown> | null }
): CallCommand => ({ type: "RecordMetrics", commandId: nextCommandId(), callId, at, ...m })

export const recording = (callId: string, at: string): CallCommand => ({
  type: "AttachRecording", commandId: nextCommandId(), callId, at, recordingRef: `https://api.twilio.com/rec/${callId}.mp3`, contentType: "audio/mpeg", durationSeconds: 60
})

/** The kinds of lifecycle `generateCalls` produces. */
export type GeneratedKind = "connected" | "voicemail" | "no_answer" | "busy" | "failed" | "live_ringing" | "live_talking" | "dnc"

/**
 * Commands for `count` calls spread over `span.days` UTC days from `span.from` (default
 * 2024-03-01..05) at random instants, in random lifecycles, interleaved the way concurrent calls
 * interleave in the log.
 */
export const generateCalls = (
  count: number,
  seed = 7,
  idPrefix = "cal_g",
  span: { readonly from: string; readonly days: number } = { from: "2024-03-01T00:00:00.000Z", days: 5 }
): Array<CallCommand> => {
  const random = seededRandom(seed)
  const perCall: Array<Array<CallCommand>> = []
  const base = Date.parse(span.from)
  for (let i = 0; i < count; i++) {
    const callId = `${idPrefix}${String(i).padStart(4, "0")}`
    const start = new Date(base + Math.floor(random.next() * span.days * 86_400_000)).toISOString()
    const phone = `+1415555${String(1000 + random.int(0, 8999))}`
    const inbound = random.next() < 0.25
    const commands: Array<CallCommand> = [dial(callId, start, {
      direction: inbound ? "inbound" : "outbound",
      callType: inbound ? "telephony_inbound" : random.pick(["telephony_outbound", "telephony_outbound", "web"] as const),
      status: inbound ? "initiated" : "queued",
      from: inbound ? phone : "+15550010000",
      to: inbound ? "+15550010000" : phone,
      contact: { phone, name: null, id: random.pick(["cst_1", "cst_2", "cst_3", null]) },
      campaignId: random.pick(["cmp_a", "cmp_b", "cmp_c", null]),
      agentId: random.pick(["agt_1", "agt_2"]),
      language: random.pick(["hi-IN", "en-IN", "ta-IN", "en-in", null])
    })]
    const kind = random.pick<GeneratedKind>([
      "connected", "connected", "connected", "voicemail", "no_answer", "busy", "failed", "live_ringing", "live_talking", "dnc"
    ])
    const t = (s: number) => after(start, s)
    const talk = random.int(5, 400)
    switch (kind) {
      case "connected":
        commands.push(telephony(callId, t(1), "ringing", 1), telephony(callId, t(5), "in-progress", 2, { answeredBy: "human" }))
        commands.push(transcript(callId, t(talk + 3), [
          { speaker: "agent", text: "Hello", startTime: 0.4, endTime: 1.2, confidence: 0.97 },
          { speaker: "customer", text: "Hi", startTime: 1.5, endTime: 2, confidence: 0.9 }
        ], true, random.pick(["hi-IN", "en-IN", null]), `job_${i}`))
        // Disposition before the end: an outcome it sets must survive the end's derived outcome.
        commands.push(disposition(callId, t(talk + 4), {
          disposition: random.pick(["interested", "not_interested", "callback", "escalated", null] as const),
          sentiment: random.pick(["positive", "neutral", "negative", null] as const),
          outcome: random.next() < 0.1 ? "voicemail" : null
        }))
        commands.push(telephony(callId, t(talk + 5), "completed", 3, { durationSeconds: talk }))
        break
      case "voicemail":
        commands.push(answer(callId, t(4), "machine"), end(callId, t(34), "agent_hangup"))
        break
      case "no_answer":
        commands.push(telephony(callId, t(1), "ringing", 1), telephony(callId, t(31), "no-answer", 2))
        break
      case "busy":
        commands.push(telephony(callId, t(1), "busy", 1))
        break
      case "failed":
        commands.push(telephony(callId, t(1), "failed", 1, { errorReason: "invalid number" }))
        break
      case "live_ringing":
        commands.push(telephony(callId, t(1), "ringing", 1))
        break
      case "live_talking":
        commands.push(answer(callId, t(3)))
        break
      case "dnc":
        commands.push(answer(callId, t(3)), disposition(callId, t(20), { disposition: "dnd", sentiment: "negative" }))
        commands.push(end(callId, t(21), "dnc_request"))
        break
    }
    perCall.push(commands)
  }
  // Interleave: each round takes the next command of every call still having some.
  const out: Array<CallCommand> = []
  for (let round = 0; out.length < perCall.reduce((n, c) => n + c.length, 0); round++) {
    for (const commands of perCall) {
      const c = commands[round]
      if (c !== undefined) out.push(c)
    }
  }
  return out
}

/** Every row of every table but SQLite's own (and full-text shadow tables), ordered, as JSON: equal dumps hold the same rows. */
export const dumpTables = (db: SqliteDatabase): Record<string, string> => {
  const tables = db.prepare<[], { name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
  ).all()
  // A full-text table's shadow tables are index internals (their segments depend on how many
  // transactions wrote them); the virtual table itself is dumped by its rows.
  const virtual = tables.filter((t) => t.sql.startsWith("CREATE VIRTUAL TABLE")).map((t) => `${t.name}_`)
  const out: Record<string, string> = {}
  for (const { name } of tables) {
    if (virtual.some((prefix) => name.startsWith(prefix))) continue
    const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${name}')`).all().map((c) => c.name)
    const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY ${columns.map((c) => `"${c}"`).join(", ")}`).raw().all()
    out[name] = JSON.stringify(rows)
  }
  return out
}

/**
 * An in-process EventStoreDB for tests: a real gRPC server (`@grpc/grpc-js`) built from the
 * client's own generated service definitions and messages (`@eventstore/db-client/generated`), so
 * the real `EventStoreDBClient` talks to it over HTTP/2 on loopback exactly as to a server.
 *
 * It serves the RPCs the adapter's calls use: `ServerFeatures.GetSupportedMethods`,
 * `Streams.Append`, `Streams.BatchAppend`, `Streams.Read` (a stream or `$all`, forwards and
 * backwards, with count; `$all` catch-up subscriptions with filters, checkpoints and caught-up),
 * `Streams.Delete` and `Streams.Tombstone`. Storage and write rules live in `EsdbTestLog`; this file
 * maps them to the wire. Sources cited: the `streams.proto` of EventStore/KurrentDB
 * (`src/Protos/Grpc/streams.proto`), `RpcExceptions.cs` (error statuses and trailers), and the
 * documentation pages named at each rule.
 *
 * Left out on purpose: stream subscriptions (`UNIMPLEMENTED`; the adapter subscribes to `$all`
 * only), link resolution (no projections write links here), authentication, the batch-append
 * deadline and persistent subscriptions.
 */
import * as grpc from "@grpc/grpc-js"
import serverFeaturesGrpc from "@eventstore/db-client/generated/serverfeatures_grpc_pb.js"
import serverFeaturesPb from "@eventstore/db-client/generated/serverfeatures_pb.js"
import sharedPb from "@eventstore/db-client/generated/shared_pb.js"
import statusPb from "@eventstore/db-client/generated/status_pb.js"
import streamsGrpc from "@eventstore/db-client/generated/streams_grpc_pb.js"
import streamsPb from "@eventstore/db-client/generated/streams_pb.js"
import anyPb from "google-protobuf/google/protobuf/any_pb.js"
import emptyPb from "google-protobuf/google/protobuf/empty_pb.js"
import { deletedStream, EsdbTestLog, ExpectedVersion } from "./esdbTestLog.js"
import type { LogRecord, ProposedEvent, WriteOutcome } from "./esdbTestLog.js"

type ReadReq = InstanceType<typeof streamsPb.ReadReq>
type ReadResp = InstanceType<typeof streamsPb.ReadResp>
type FilterOptions = InstanceType<typeof streamsPb.ReadReq.Options.FilterOptions>
type UUID = InstanceType<typeof sharedPb.UUID>

/** A running test server. `stop` drops every connection at once, as a crashed or restarted node does. */
export interface EsdbTestServer {
  readonly port: number
  /** `esdb://127.0.0.1:<port>?tls=false`: an insecure single node, as the connection-string docs give it. */
  readonly connectionString: string
  readonly log: EsdbTestLog
  /** How many calls each RPC received (`"Streams/BatchAppend"`, ...), to tell which path the client took. */
  readonly calls: ReadonlyMap<string, number>
  readonly stop: () => Promise<void>
}

export interface EsdbTestServerOptions {
  /** The data to serve; pass the previous server's log to "restart" over the same data. */
  readonly log?: EsdbTestLog
  /** 0 (default) picks a free port; pass the previous port so connected clients can reconnect. */
  readonly port?: number
  /**
   * Whether `GetSupportedMethods` lists `BatchAppend` (default true). The client appends through
   * `BatchAppend` when the server lists it and `Append` otherwise, so both paths can be tested.
   */
  readonly advertiseBatchAppend?: boolean
}

/** What the server reports as its version; caught-up messages arrived with 23.10 (client 6.1 changelog: "caught up and fell behind"). */
const serverVersion = "23.10.0"

/**
 * The server's filter window when the client asks for `count`: checkpoints come every
 * `checkpointIntervalMultiplier x 32` events read (EventStore PR #2608: "interval x maxWindowSize
 * that is hard coded to 32 for Grpc client").
 */
const defaultFilterWindow = 32

const encoder = new TextEncoder()

const empty = () => new sharedPb.Empty()

const uuidText = (uuid: UUID | undefined): string => {
  if (uuid === undefined) return crypto.randomUUID()
  if (uuid.hasString()) return uuid.getString()
  const structured = uuid.getStructured()!
  const view = new DataView(new ArrayBuffer(16))
  view.setBigUint64(0, BigInt.asUintN(64, BigInt(structured.getMostSignificantBits())))
  view.setBigUint64(8, BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits())))
  const hex = Buffer.from(view.buffer).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const uuidMessage = (id: string, structured: boolean): UUID => {
  const uuid = new sharedPb.UUID()
  if (!structured) return uuid.setString(id)
  const bytes = Buffer.from(id.replaceAll("-", ""), "hex")
  const s = new sharedPb.UUID.Structured()
  s.setMostSignificantBits(BigInt.asIntN(64, bytes.readBigUInt64BE(0)).toString())
  s.setLeastSignificantBits(BigInt.asIntN(64, bytes.readBigUInt64BE(8)).toString())
  return uuid.setStructured(s)
}

const streamIdentifier = (name: string) => new sharedPb.StreamIdentifier().setStreamName(encoder.encode(name))

const streamName = (identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string =>
  Buffer.from(identifier?.getStreamName_asU8() ?? new Uint8Array()).toString("utf8")

/** A gRPC error with EventStoreDB's trailers (`RpcExceptions.cs`): the client maps `exception` to its error classes. */
const rpcError = (code: grpc.status, details: string, trailers: Record<string, string>): Partial<grpc.StatusObject> => {
  const metadata = new grpc.Metadata()
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value)
  return { code, details, metadata }
}

/** `RpcExceptions.StreamDeleted`: FAILED_PRECONDITION, `exception: stream-deleted`, `stream-name`. */
const streamDeletedError = (name: string) =>
  rpcError(grpc.status.FAILED_PRECONDITION, `Event stream '${name}' is deleted.`, { "exception": "stream-deleted", "stream-name": name })

/** `RpcExceptions.WrongExpectedVersion`: FAILED_PRECONDITION with `expected-version` and `actual-version`. */
const wrongExpectedVersionError = (operation: string, name: string, expected: bigint, actual: bigint) =>
  rpcError(
    grpc.status.FAILED_PRECONDITION,
    `${operation} failed due to WrongExpectedVersion. Stream: ${name}, Expected version: ${expected}, Actual version: ${actual}`,
    { "exception": "wrong-expected-version", "stream-name": name, "expected-version": expected.toString(), "actual-version": actual.toString() }
  )

/** `RpcExceptions.RequiredMetadataPropertyMissing`: every proposed message needs `type` and `content-type`. */
const requiredMetadataMissing = () =>
  rpcError(grpc.status.INVALID_ARGUMENT, "Required Metadata Property 'type' is missing", {
    "exception": "missing-required-metadata-property",
    "required-metadata-properties": "type,content-type"
  })

interface ProposedMessageLike {
  getId(): UUID | undefined
  getMetadataMap(): { get(key: string): string | undefined }
  getData_asU8(): Uint8Array
  getCustomMetadata_asU8(): Uint8Array
}

const toProposed = (message: ProposedMessageLike): ProposedEvent | null => {
  const metadata = message.getMetadataMap()
  const type = metadata.get("type")
  const contentType = metadata.get("content-type")
  if (type === undefined || contentType === undefined) return null
  return {
    eventId: uuidText(message.getId()),
    type,
    contentType,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8()
  }
}

interface ExpectedOptions {
  hasRevision?(): boolean
  getRevision?(): string
  hasStreamPosition?(): boolean
  getStreamPosition?(): string
  hasNoStream(): boolean
  hasAny(): boolean
  hasStreamExists(): boolean
}

/** The request's `expected_stream_revision` oneof as an `ExpectedVersion` number; unset means `any`. */
const expectedFrom = (options: ExpectedOptions): bigint => {
  if (options.hasRevision?.()) return BigInt(options.getRevision!())
  if (options.hasStreamPosition?.()) return BigInt(options.getStreamPosition!())
  if (options.hasNoStream()) return ExpectedVersion.noStream
  if (options.hasStreamExists()) return ExpectedVersion.streamExists
  return ExpectedVersion.any
}

/** A compiled `FilterOptions`: which records pass, and after how many records read a checkpoint is due. */
interface CompiledFilter {
  readonly matches: (record: LogRecord) => boolean
  readonly checkpointEvery: number
}

/**
 * `FilterOptions` (streams.proto): an expression on the stream name or the event type, a regex or
 * a list of prefixes ("Server-side filtering": "prefixes" match the start of the name).
 */
const compileFilter = (filter: FilterOptions): CompiledFilter => {
  const expression = filter.hasStreamIdentifier() ? filter.getStreamIdentifier()! : filter.getEventType()!
  const field = filter.hasStreamIdentifier() ? (r: LogRecord) => r.streamId : (r: LogRecord) => r.type
  const prefixes = expression.getPrefixList()
  const regex = expression.getRegex()
  const test = prefixes.length > 0
    ? (value: string) => prefixes.some((p) => value.startsWith(p))
    : (value: string) => new RegExp(regex).test(value)
  const window = filter.hasMax() ? filter.getMax() : defaultFilterWindow
  return { matches: (r) => test(field(r)), checkpointEvery: window * Math.max(1, filter.getCheckpointintervalmultiplier()) }
}

const positionOf = (r: LogRecord) => ({ commit: r.commit, prepare: r.prepare })

const comparePosition = (r: LogRecord, commit: bigint, prepare: bigint): number =>
  r.commit === commit ? (r.prepare === prepare ? 0 : r.prepare < prepare ? -1 : 1) : r.commit < commit ? -1 : 1

/** `ReadResp.ReadEvent` for a record; `created` is 100-ns ticks since the Unix epoch, as the client decodes it. */
const readEventResponse = (record: LogRecord, structuredIds: boolean): ReadResp => {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
  recorded.setId(uuidMessage(record.eventId, structuredIds))
  recorded.setStreamIdentifier(streamIdentifier(record.streamId))
  recorded.setStreamRevision(record.revision.toString())
  recorded.setPreparePosition(record.prepare.toString())
  recorded.setCommitPosition(record.commit.toString())
  recorded.getMetadataMap().set("type", record.type)
  recorded.getMetadataMap().set("content-type", record.contentType)
  recorded.getMetadataMap().set("created", record.createdTicks.toString())
  recorded.setCustomMetadata(record.customMetadata)
  recorded.setData(record.data)
  const event = new streamsPb.ReadResp.ReadEvent()
  event.setEvent(recorded)
  event.setCommitPosition(record.commit.toString())
  return new streamsPb.ReadResp().setEvent(event)
}

/** Starts a server on 127.0.0.1 (insecure). */
export const startEsdbTestServer = async (options: EsdbTestServerOptions = {}): Promise<EsdbTestServer> => {
  const log = options.log ?? new EsdbTestLog()
  const advertiseBatchAppend = options.advertiseBatchAppend ?? true
  const server = new grpc.Server()
  const cleanups = new Set<() => void>()
  const calls = new Map<string, number>()
  const counted = <F extends (...args: Array<any>) => void>(name: string, handler: F): F =>
    ((...args: Array<any>) => {
      calls.set(name, (calls.get(name) ?? 0) + 1)
      handler(...args)
    }) as F

  const getSupportedMethods: grpc.handleUnaryCall<InstanceType<typeof sharedPb.Empty>, InstanceType<typeof serverFeaturesPb.SupportedMethods>> = (_call, callback) => {
    // Method and service names are lower-cased, as the server lists them; the client compares lower-cased paths.
    const methods = ["read", "append", "delete", "tombstone", ...(advertiseBatchAppend ? ["batchappend"] : [])].map((name) =>
      new serverFeaturesPb.SupportedMethod().setServiceName("event_store.client.streams.streams").setMethodName(name)
    )
    methods.push(
      new serverFeaturesPb.SupportedMethod().setServiceName("event_store.client.server_features.serverfeatures").setMethodName("getsupportedmethods")
    )
    callback(null, new serverFeaturesPb.SupportedMethods().setMethodsList(methods).setEventStoreServerVersion(serverVersion))
  }

  const read: grpc.handleServerStreamingCall<ReadReq, ReadResp> = (call) => {
    const fail = (error: Partial<grpc.StatusObject>) => call.emit("error", error)
    const options = call.request.getOptions()
    if (options === undefined) return fail(rpcError(grpc.status.INVALID_ARGUMENT, "options required", {}))
    const structuredIds = options.getUuidOption()?.hasStructured() ?? false
    const filter = options.hasFilter() ? compileFilter(options.getFilter()!) : null
    const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS
    const count = options.hasCount() ? BigInt(options.getCount()) : 0n

    if (options.hasStream()) {
      if (options.hasSubscription()) return fail(rpcError(grpc.status.UNIMPLEMENTED, "stream subscriptions are not served by the test server", {}))
      const streamOptions = options.getStream()!
      const name = streamName(streamOptions.getStreamIdentifier())
      const state = log.stream(name)
      if (state?.tombstoned) return fail(streamDeletedError(name))
      // A missing stream, or a soft-deleted one ($tb = DeletedStream), answers `stream_not_found`
      // (streams.proto ReadResp.StreamNotFound; "Deleting streams and events": reading a
      // soft-deleted stream returns StreamNotFound).
      if (state === undefined || state.lastRevision < 0n || state.truncateBefore === deletedStream) {
        call.write(new streamsPb.ReadResp().setStreamNotFound(new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(name))))
        return call.end()
      }
      const events = log.visibleEvents(name)
      const from = streamOptions.hasRevision() ? BigInt(streamOptions.getRevision()) : null
      // Forwards from a revision is inclusive; backwards from a revision includes it and goes down.
      const selected = backwards
        ? events.filter((r) => (streamOptions.hasEnd() || from === null ? true : r.revision <= from)).reverse()
        : events.filter((r) => (streamOptions.hasEnd() ? false : r.revision >= (from ?? 0n)))
      for (const record of selected.slice(0, Number(count))) call.write(readEventResponse(record, structuredIds))
      return call.end()
    }

    const allOptions = options.getAll()
    if (allOptions === undefined) return fail(rpcError(grpc.status.INVALID_ARGUMENT, "stream_option required", {}))
    const position = allOptions.hasPosition() ? allOptions.getPosition()! : null
    const commit = position === null ? 0n : BigInt(position.getCommitPosition())
    const prepare = position === null ? 0n : BigInt(position.getPreparePosition())

    if (!options.hasSubscription()) {
      // Reading `$all` from a position: forwards includes the event at that position, backwards
      // returns the events before it ("Reading events", read from a position; TFPos order).
      const records = log.records
      const selected = backwards
        ? records.filter((r) => (allOptions.hasEnd() || position === null ? true : comparePosition(r, commit, prepare) < 0)).reverse()
        : records.filter((r) => (allOptions.hasEnd() ? false : position === null || comparePosition(r, commit, prepare) >= 0))
      let sent = 0n
      for (const record of selected) {
        if (sent >= count) break
        if (filter !== null && !filter.matches(record)) continue
        call.write(readEventResponse(record, structuredIds))
        sent++
      }
      return call.end()
    }

    // A catch-up subscription to `$all`: confirmation first, then the stored events after the start
    // ("Catch-up subscriptions": subscribing from a position starts with the first event after it),
    // then `caught_up` ("The $all or stream subscription has caught up and become live",
    // streams.proto ReadResp.CaughtUp), then live events. With a filter, a checkpoint comes every
    // `checkpointEvery` events read, matching or not ("Server-side filtering", checkpoints).
    call.write(new streamsPb.ReadResp().setConfirmation(new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(crypto.randomUUID())))
    let cursor = allOptions.hasEnd()
      ? log.records.length
      : position === null
      ? 0
      : log.records.findIndex((r) => comparePosition(r, commit, prepare) > 0)
    if (cursor < 0) cursor = log.records.length
    let read = 0
    let caughtUp = false
    const pump = () => {
      while (cursor < log.records.length) {
        const record = log.records[cursor++]!
        read++
        if (filter === null || filter.matches(record)) call.write(readEventResponse(record, structuredIds))
        if (filter !== null && read % filter.checkpointEvery === 0) {
          const checkpoint = new streamsPb.ReadResp.Checkpoint()
          checkpoint.setCommitPosition(positionOf(record).commit.toString())
          checkpoint.setPreparePosition(positionOf(record).prepare.toString())
          call.write(new streamsPb.ReadResp().setCheckpoint(checkpoint))
        }
      }
      if (!caughtUp) {
        caughtUp = true
        call.write(new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp()))
      }
    }
    const unsubscribe = log.onWrite(pump)
    const cleanup = () => {
      unsubscribe()
      cleanups.delete(cleanup)
    }
    cleanups.add(cleanup)
    call.on("cancelled", cleanup)
    call.on("close", cleanup)
    pump()
  }

  const append: grpc.handleClientStreamingCall<InstanceType<typeof streamsPb.AppendReq>, InstanceType<typeof streamsPb.AppendResp>> = (call, callback) => {
    let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined
    const proposed: Array<ProposedEvent | null> = []
    call.on("data", (req: InstanceType<typeof streamsPb.AppendReq>) => {
      if (req.hasOptions()) options = req.getOptions()
      else if (req.hasProposedMessage()) proposed.push(toProposed(req.getProposedMessage()!))
    })
    call.on("end", () => {
      if (options === undefined) return callback(rpcError(grpc.status.INVALID_ARGUMENT, "options must come first", {}))
      if (proposed.some((p) => p === null)) return callback(requiredMetadataMissing())
      const name = streamName(options.getStreamIdentifier())
      const expected = expectedFrom(options)
      const outcome = log.append(name, expected, proposed as Array<ProposedEvent>)
      if (outcome._tag === "StreamDeleted") return callback(streamDeletedError(name))
      const response = new streamsPb.AppendResp()
      if (outcome._tag === "WrongExpectedVersion") {
        // streams.proto AppendResp.WrongExpectedVersion: current and expected revision (the 20.6.0 fields are superseded).
        const wrong = new streamsPb.AppendResp.WrongExpectedVersion()
        if (outcome.currentRevision < 0n) wrong.setCurrentNoStream(empty())
        else wrong.setCurrentRevision(outcome.currentRevision.toString())
        if (expected === ExpectedVersion.any) wrong.setExpectedAny(empty())
        else if (expected === ExpectedVersion.noStream) wrong.setExpectedNoStream(empty())
        else if (expected === ExpectedVersion.streamExists) wrong.setExpectedStreamExists(empty())
        else wrong.setExpectedRevision(expected.toString())
        return callback(null, response.setWrongExpectedVersion(wrong))
      }
      const success = new streamsPb.AppendResp.Success()
      if (outcome.currentRevision < 0n) success.setNoStream(empty())
      else success.setCurrentRevision(outcome.currentRevision.toString())
      success.setPosition(new streamsPb.AppendResp.Position().setCommitPosition(outcome.commit.toString()).setPreparePosition(outcome.prepare.toString()))
      callback(null, response.setSuccess(success))
    })
  }

  const batchAppend: grpc.handleBidiStreamingCall<InstanceType<typeof streamsPb.BatchAppendReq>, InstanceType<typeof streamsPb.BatchAppendResp>> = (call) => {
    // One duplex stream carries many appends, told apart by correlation id; an append may span
    // several requests and completes with `is_final` (streams.proto BatchAppendReq).
    const pending = new Map<string, { options: InstanceType<typeof streamsPb.BatchAppendReq.Options>; events: Array<ProposedEvent | null> }>()
    call.on("data", (req: InstanceType<typeof streamsPb.BatchAppendReq>) => {
      const correlation = req.getCorrelationId()
      const key = uuidText(correlation)
      const entry = pending.get(key) ?? { options: req.getOptions()!, events: [] }
      pending.set(key, entry)
      entry.events.push(...req.getProposedMessagesList().map(toProposed))
      if (!req.getIsFinal()) return
      pending.delete(key)
      const name = streamName(entry.options.getStreamIdentifier())
      const expected = expectedFrom(entry.options)
      const response = new streamsPb.BatchAppendResp().setCorrelationId(correlation).setStreamIdentifier(streamIdentifier(name))
      if (expected === ExpectedVersion.any) response.setAny(new emptyPb.Empty())
      else if (expected === ExpectedVersion.noStream) response.setNoStream(new emptyPb.Empty())
      else if (expected === ExpectedVersion.streamExists) response.setStreamExists(new emptyPb.Empty())
      else response.setStreamPosition(expected.toString())
      if (entry.events.some((e) => e === null)) {
        call.write(response.setError(new statusPb.Status().setCode(3).setMessage("Required Metadata Property 'type' is missing")))
        return
      }
      const outcome: WriteOutcome = log.append(name, expected, entry.events as Array<ProposedEvent>)
      if (outcome._tag === "Written") {
        const success = new streamsPb.BatchAppendResp.Success()
        if (outcome.currentRevision < 0n) success.setNoStream(new emptyPb.Empty())
        else success.setCurrentRevision(outcome.currentRevision.toString())
        success.setPosition(new sharedPb.AllStreamPosition().setCommitPosition(outcome.commit.toString()).setPreparePosition(outcome.prepare.toString()))
        call.write(response.setSuccess(success))
        return
      }
      // Errors travel as google.rpc.Status whose details pack `event_store.client.WrongExpectedVersion`
      // or `event_store.client.StreamDeleted` (shared.proto), which the client unpacks by type name.
      const details = new anyPb.Any()
      const status = new statusPb.Status().setCode(9)
      if (outcome._tag === "StreamDeleted") {
        details.pack(new sharedPb.StreamDeleted().setStreamIdentifier(streamIdentifier(name)).serializeBinary(), "event_store.client.StreamDeleted")
        status.setMessage(`Event stream '${name}' is deleted.`)
      } else {
        const wrong = new sharedPb.WrongExpectedVersion()
        if (outcome.currentRevision < 0n) wrong.setCurrentNoStream(new emptyPb.Empty())
        else wrong.setCurrentStreamRevision(outcome.currentRevision.toString())
        if (expected === ExpectedVersion.any) wrong.setExpectedAny(new emptyPb.Empty())
        else if (expected === ExpectedVersion.noStream) wrong.setExpectedNoStream(new emptyPb.Empty())
        else if (expected === ExpectedVersion.streamExists) wrong.setExpectedStreamExists(new emptyPb.Empty())
        else wrong.setExpectedStreamPosition(expected.toString())
        details.pack(wrong.serializeBinary(), "event_store.client.WrongExpectedVersion")
        status.setMessage("Append failed due to WrongExpectedVersion.")
      }
      call.write(response.setError(status.setDetails(details)))
    })
    call.on("end", () => call.end())
  }

  type DeleteLike = InstanceType<typeof streamsPb.DeleteReq> | InstanceType<typeof streamsPb.TombstoneReq>
  const remove = (operation: "Delete" | "Tombstone") =>
    (call: grpc.ServerUnaryCall<DeleteLike, unknown>, callback: (error: Partial<grpc.StatusObject> | null, value?: unknown) => void) => {
      const options = call.request.getOptions()!
      const name = streamName(options.getStreamIdentifier())
      const expected = expectedFrom(options)
      const outcome = operation === "Delete" ? log.softDelete(name, expected) : log.tombstone(name, expected)
      if (outcome._tag === "StreamDeleted") return callback(streamDeletedError(name))
      if (outcome._tag === "WrongExpectedVersion") return callback(wrongExpectedVersionError(operation, name, expected, outcome.currentRevision))
      if (operation === "Delete") {
        const position = new streamsPb.DeleteResp.Position().setCommitPosition(outcome.commit.toString()).setPreparePosition(outcome.prepare.toString())
        return callback(null, new streamsPb.DeleteResp().setPosition(position))
      }
      const position = new streamsPb.TombstoneResp.Position().setCommitPosition(outcome.commit.toString()).setPreparePosition(outcome.prepare.toString())
      callback(null, new streamsPb.TombstoneResp().setPosition(position))
    }

  server.addService(serverFeaturesGrpc.ServerFeaturesService, { getSupportedMethods: counted("ServerFeatures/GetSupportedMethods", getSupportedMethods) })
  server.addService(streamsGrpc.StreamsService, {
    read: counted("Streams/Read", read),
    append: counted("Streams/Append", append),
    batchAppend: counted("Streams/BatchAppend", batchAppend),
    delete: counted("Streams/Delete", remove("Delete")),
    tombstone: counted("Streams/Tombstone", remove("Tombstone"))
  } as grpc.UntypedServiceImplementation)

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error)
    )
  )

  return {
    port,
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    log,
    calls,
    stop: async () => {
      for (const cleanup of [...cleanups]) cleanup()
      server.forceShutdown()
    }
  }
}

import { Effect, Tracer } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { startLedgerServer } from "../fixtures/ledgerServer.js"
import type { LedgerServer } from "../fixtures/ledgerServer.js"

/** Effect's own tracer, also noting the name of every span it starts. */
const recordingTracer = () => {
  const native = Effect.runSync(Effect.tracer)
  const names: Array<string> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      names.push(name)
      return native.span(name, parent, context, links, startTime, kind, options)
    },
    context: native.context
  })
  return { tracer, names }
}

let server: LedgerServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

describe("request spans", () => {
  it("are off by default: serve exports no traces, so a request starts no server span", async () => {
    const { names, tracer } = recordingTracer()
    server = await startLedgerServer({ tracer })
    expect((await fetch(`${server.url}/v1/calls?limit=1`)).status).toBe(200)
    expect(names.filter((n) => n.startsWith("http.server"))).toEqual([])
  })

  it("with requestSpans, each request gets a server span for the tracer provided", async () => {
    const { names, tracer } = recordingTracer()
    server = await startLedgerServer({ tracer, requestSpans: true })
    expect((await fetch(`${server.url}/v1/calls?limit=1`)).status).toBe(200)
    expect(names).toContain("http.server GET")
  })
})

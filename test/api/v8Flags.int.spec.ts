import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest"

const folder = mkdtempSync(join(tmpdir(), "call-ledger-v8-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

// V8 itself is not asked (it has no getter for a flag): `setFlagsFromString` is a spy, so the
// test neither changes this worker's V8 nor passes when the flag is never set.
const setFlagsFromString = vi.fn()
const appliedKey = Symbol.for("call-ledger/v8-allocation-site-pretenuring")
beforeEach(() => {
  vi.resetModules()
  setFlagsFromString.mockClear()
  delete (globalThis as Record<symbol, unknown>)[appliedKey]
  vi.doMock("node:v8", async (original) => ({ ...(await original<typeof import("node:v8")>()), setFlagsFromString }))
})
afterEach(() => {
  vi.doUnmock("node:v8")
  delete process.env.LEDGER_V8_PRETENURING
})

/** Builds and releases `callLedgerLayer` over a fresh file, through fresh modules. */
const openLedger = async (name: string) => {
  const { callLedgerLayer } = await import("../../src/api/callLedgerLayer.js")
  const { CallLedger } = await import("../../src/api/callLedger.js")
  const { makeLedgerConfig } = await import("../../src/api/ledgerConfig.js")
  const config = makeLedgerConfig({ databasePath: join(folder, name) })
  await Effect.runPromise(Effect.scoped(Effect.asVoid(Effect.provide(CallLedger, callLedgerLayer(config)))))
}

describe("V8 settings of a process running a ledger", () => {
  it("building a ledger turns allocation-site pretenuring off, once per process", async () => {
    await openLedger("first.db")
    await openLedger("second.db")
    expect(setFlagsFromString.mock.calls).toEqual([["--no-allocation-site-pretenuring"]])
  })

  it.each(["true", "on", "1", "YES"])("LEDGER_V8_PRETENURING=%s leaves V8's default", async (value) => {
    process.env.LEDGER_V8_PRETENURING = value
    await openLedger(`kept-${value}.db`)
    expect(setFlagsFromString).not.toHaveBeenCalled()
  })
})

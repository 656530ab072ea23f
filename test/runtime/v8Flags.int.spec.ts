import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest"

const folder = mkdtempSync(join(tmpdir(), "call-ledger-v8-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
// Each test gets fresh modules: the first call of a process decides, so each starts "untouched".
beforeEach(() => vi.resetModules())

/** Opens and closes a ledger's database through fresh modules; what the ledger did to pretenuring. */
const openLedgerDatabase = async (name: string) => {
  const { allocationSitePretenuring } = await import("../../src/runtime/v8Flags.js")
  const { LedgerDatabase, ledgerDatabaseLayer } = await import("../../src/store/sqlite/sqliteDatabase.js")
  const before = allocationSitePretenuring()
  await Effect.runPromise(Effect.scoped(Effect.asVoid(Effect.provide(LedgerDatabase, ledgerDatabaseLayer(join(folder, name))))))
  return { before, after: allocationSitePretenuring() }
}

describe("V8 settings of a process running a ledger", () => {
  it("opening a ledger's database turns allocation-site pretenuring off", async () => {
    expect(await openLedgerDatabase("off.db")).toEqual({ before: "untouched", after: "off" })
  })

  it("LEDGER_V8_PRETENURING=on leaves V8's default", async () => {
    process.env.LEDGER_V8_PRETENURING = "on"
    try {
      expect(await openLedgerDatabase("kept.db")).toEqual({ before: "untouched", after: "left on (LEDGER_V8_PRETENURING=on)" })
    } finally {
      delete process.env.LEDGER_V8_PRETENURING
    }
  })
})

import { describe, expect, it } from "vitest"
import { presentCall, presentStoredCall } from "../../src/api/callPresenter.js"
import type { CallView } from "../../src/projections/callViewSchema.js"

const config = { publicUrl: "https://ledger.example.com", signingKey: "k".repeat(32) }
const now = Date.parse("2026-01-02T03:04:05Z")

describe("presentStoredCall", () => {
  it("gives presentCall's record from the stored JSON text, whatever nested fields before the top-level has_recording hold", () => {
    // Nested objects and strings with the same key come first: only the outermost one is replaced.
    for (const hasRecording of [true, false]) {
      const view = {
        id: "cal_1", metadata: { has_recording: !hasRecording, deep: [{ has_recording: "}]\\\"" }] },
        contact: { name: '"has_recording":true' }, has_recording: hasRecording, duration_seconds: 12
      } as unknown as CallView
      const text = presentStoredCall({ id: "cal_1", doc: JSON.stringify(view) }, config, now)
      expect(JSON.parse(text)).toEqual(presentCall(view, config, now))
    }
  })

  it("falls back to parsing when the stored text has no top-level has_recording", () => {
    const view = { id: "cal_2", metadata: { has_recording: true } } as unknown as CallView
    expect(JSON.parse(presentStoredCall({ id: "cal_2", doc: JSON.stringify(view) }, config, now))).toEqual(presentCall(view, config, now))
  })
})

import { v5 as uuidv5 } from "uuid"
import { describe, expect, it } from "vitest"
import { eventIdFor, eventIdNamespace } from "../../src/store/callCommandHandler.js"

describe("eventIdFor", () => {
  it("is the RFC 9562 UUID v5 of `<commandId>:<index>` in the ledger's namespace, as the uuid package computes it", () => {
    for (let i = 0; i < 500; i++) {
      const commandId = i % 3 === 0 ? `twilio:CA${i}:completed:${i}` : `cmd-${i}-ñ✓`
      expect(eventIdFor(commandId, i % 5)).toBe(uuidv5(`${commandId}:${i % 5}`, eventIdNamespace))
    }
  })
})

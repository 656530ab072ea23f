import { randomUUID } from "node:crypto"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { makeMemoryEventStore } from "../../src/store/memory/memoryEventStore.js"
import { eventStoreContract } from "./eventStoreContract.js"

eventStoreContract("memory", {
  open: async () => ({ store: makeMemoryEventStore(), close: async () => {} })
})

describe("memory EventStore", () => {
  it("never shows $-prefixed system streams or event types in $all", async () => {
    const store = makeMemoryEventStore()
    const event = (type: string) => ({
      eventId: randomUUID(),
      type,
      data: {},
      metadata: {
        schemaVersion: 1, commandId: "c", correlationId: "c", causationId: null,
        occurredAt: "2024-02-01T09:14:03.000Z", recordedAt: "2024-02-01T09:14:03.000Z"
      }
    })
    await Effect.runPromise(store.appendToStream("$settings", [event("Settings")], "any"))
    await Effect.runPromise(store.appendToStream("call-1", [event("$metadata"), event("CallDialed")], "any"))
    const all = await Effect.runPromise(store.readAll())
    expect(all.map((e) => `${e.streamId}:${e.type}`)).toEqual(["call-1:CallDialed"])
  })
})

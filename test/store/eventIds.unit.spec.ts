import { v5 as uuidv5 } from "uuid"
import { describe, expect, it } from "vitest"
import { eventIdFor, eventIdNamespace } from "../../src/store/callCommandHandler.js"
import { hasLoneSurrogate, uuidV5In } from "../../src/store/uuidV5.js"

describe("eventIdFor", () => {
  it("is the RFC 9562 UUID v5 of `<commandId>:<index>` in the ledger's namespace, as the uuid package computes it", () => {
    for (let i = 0; i < 500; i++) {
      const commandId = i % 3 === 0 ? `twilio:CA${i}:completed:${i}` : `cmd-${i}-ñ✓`
      expect(eventIdFor(commandId, i % 5)).toBe(uuidv5(`${commandId}:${i % 5}`, eventIdNamespace))
    }
  })
})

describe("uuidV5In", () => {
  const namespace = "1b671a64-40d5-491e-99b0-da01ff1f3341"
  const ours = uuidV5In(namespace)

  it("gives the uuid package's v5 for empty, multi-byte and long names, in any order", () => {
    // A long name grows the buffer it hashes from; the short names after it must not hash its tail.
    const names = ["", "a", "ü".repeat(200), "x".repeat(5000), "b", "😀:1", "idempotency-key-42:0", "y".repeat(300), "c"]
    for (const name of names) expect(ours(name)).toBe(uuidv5(name, namespace))
  })

  it("sets the version and variant bits of every digest nibble (RFC 9562 §4.1, §4.2)", () => {
    const variants = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const id = ours(`name-${i}`)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(id).toBe(uuidv5(`name-${i}`, namespace))
      variants.add(id[19]!)
    }
    expect([...variants].sort()).toEqual(["8", "9", "a", "b"])
  })

  it("refuses a name with a lone surrogate, as the uuid package does, instead of hashing it as U+FFFD", () => {
    for (const name of ["\ud800", "a\udbffb", "\udc00", "x\ud83d"]) {
      expect(hasLoneSurrogate(name)).toBe(true)
      expect(() => uuidv5(name, namespace)).toThrow()
      expect(() => ours(name)).toThrow(TypeError)
    }
    // A surrogate pair is one code point (😀), and U+FFFD itself is an ordinary character.
    for (const name of ["😀", "\ufffd", "\ud83d\ude00:0"]) {
      expect(hasLoneSurrogate(name)).toBe(false)
      expect(ours(name)).toBe(uuidv5(name, namespace))
    }
  })
})

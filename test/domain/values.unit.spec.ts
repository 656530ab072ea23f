import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { canonicalLanguageTag, LanguageTag } from "../../src/domain/values.js"

const decodeTag = Schema.decodeUnknownEither(LanguageTag)

describe("BCP-47 language tags", () => {
  it("accepts tags as written and rejects what is not a tag, the second time as the first (the answer is cached)", () => {
    for (let round = 0; round < 2; round++) {
      expect(decodeTag("hi-IN")).toEqual(Either.right("hi-IN"))
      expect(decodeTag("en-in")).toEqual(Either.right("en-in"))
      for (const bad of ["en_US", "not a tag", "", "x-", "hindi-India-too-long-subtag"]) {
        expect(Either.isLeft(decodeTag(bad)), bad).toBe(true)
      }
    }
  })

  it("canonicalizes case (RFC 5646 §4.5) and answers null for a non-tag", () => {
    expect(canonicalLanguageTag("hi-in")).toBe("hi-IN")
    expect(canonicalLanguageTag("EN")).toBe("en")
    expect(canonicalLanguageTag("en_US")).toBeNull()
    expect(canonicalLanguageTag("en_US")).toBeNull()
  })
})

/**
 * Name-based UUIDs, version 5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by the
 * name's UTF-8 bytes, its first 16 bytes with the version (5) and variant (10xx) bits set.
 * The `uuid` package computes the same ids (`test/store/eventIds.unit.spec.ts` checks it) but
 * spent 2.2 µs and ~1.7 KB of garbage per id, mostly turning the name into an array of byte
 * numbers and the bytes back into a string; on the command path that was one id per event
 * (`npm run bench`, append throughput). This one hashes with Node's one-shot `crypto.hash` and
 * cuts the hex digest: 0.8 µs.
 */
import { hash } from "node:crypto"
import { parse as uuidParse } from "uuid"

/** The variant nibble for a digest's nibble: its two high bits set to 10 (RFC 9562 §4.1). */
const variantNibble = "89ab89ab89ab89ab"

/** A UUID v5 generator for one namespace (a UUID string). */
export const uuidV5In = (namespace: string): (name: string) => string => {
  const namespaceBytes = uuidParse(namespace)
  let scratch = Buffer.alloc(0)
  const grow = (bytes: number): void => {
    scratch = Buffer.allocUnsafe(Math.max(256, 2 * bytes))
    scratch.set(namespaceBytes, 0)
  }
  grow(0)
  return (name) => {
    const nameBytes = Buffer.byteLength(name, "utf8")
    if (16 + nameBytes > scratch.length) grow(16 + nameBytes)
    scratch.write(name, 16, "utf8")
    const hex = hash("sha1", scratch.subarray(0, 16 + nameBytes), "hex")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variantNibble[parseInt(hex[16]!, 16)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  }
}

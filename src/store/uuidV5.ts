/**
 * Name-based UUIDs, version 5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by the
 * name's UTF-8 bytes, its first 16 bytes with the version (5) and variant (10xx) bits set.
 * The `uuid` package computes the same ids for every name (`test/store/eventIds.unit.spec.ts`) but
 * spent 2.2 µs and ~1.7 KB of garbage per id, mostly turning the name into an array of byte
 * numbers and the bytes back into a string; on the command path that was one id per event
 * (`npm run bench`, append throughput). This one hashes with Node's one-shot `crypto.hash` and
 * cuts the hex digest: 0.8 µs.
 */
import { hash } from "node:crypto"
import { parse as uuidParse } from "uuid"

/**
 * Whether `s` holds a UTF-16 surrogate without its pair. Such a string has no UTF-8 form: the
 * `uuid` package throws on it, Node's encoders write U+FFFD. With the `u` flag a well-formed pair
 * is one code point outside the class, so only a lone half matches.
 */
export const hasLoneSurrogate = (s: string): boolean => /[\uD800-\uDFFF]/u.test(s)

/** The variant nibble for a digest's nibble: its two high bits set to 10 (RFC 9562 §4.1). */
const variantNibble = "89ab89ab89ab89ab"

/**
 * A UUID v5 generator for one namespace (a UUID string). The name is hashed as UTF-8; a name with
 * a lone surrogate (`hasLoneSurrogate`) throws a `TypeError`, as the `uuid` package's v5 does
 * (a `URIError` there), rather than being hashed as U+FFFD and colliding with another name.
 */
export const uuidV5In = (namespace: string): (name: string) => string => {
  const namespaceBytes = uuidParse(namespace)
  const withNamespace = (bytes: number): Buffer => {
    const buffer = Buffer.allocUnsafe(Math.max(256, 2 * bytes))
    buffer.set(namespaceBytes, 0)
    return buffer
  }
  let scratch = withNamespace(0)
  return (name) => {
    if (hasLoneSurrogate(name)) throw new TypeError(`uuid v5: the name ${JSON.stringify(name)} has a lone surrogate, so no UTF-8 form`)
    const nameBytes = Buffer.byteLength(name, "utf8")
    if (16 + nameBytes > scratch.length) scratch = withNamespace(16 + nameBytes)
    scratch.write(name, 16, "utf8")
    const hex = hash("sha1", scratch.subarray(0, 16 + nameBytes), "hex")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variantNibble[parseInt(hex[16]!, 16)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  }
}

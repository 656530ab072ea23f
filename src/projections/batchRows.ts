/**
 * A projection's write-behind rows for the batch being applied, by key (a call id, a count key).
 * `clear` swaps in a new `Map` rather than calling `Map.prototype.clear`: V8 keeps a cleared (or
 * rehashed) hash table, entries and all, linked to the table that replaced it, and once a
 * long-lived map's table sits in the old generation every young-generation scavenge treats it as
 * live. Each batch's rows were then promoted and kept until a full GC. In a loop of 200 sets and a
 * clear, that was ~4 MB promoted per scavenge and 12 ms pauses; with a new map, none and 0.2 ms.
 */
export class BatchRows<V> {
  #rows = new Map<string, V>()

  get(key: string): V | undefined {
    return this.#rows.get(key)
  }
  set(key: string, value: V): void {
    this.#rows.set(key, value)
  }
  delete(key: string): void {
    this.#rows.delete(key)
  }
  values(): IterableIterator<V> {
    return this.#rows.values()
  }
  entries(): IterableIterator<[string, V]> {
    return this.#rows.entries()
  }
  /** Forgets every row (a new map; see above). */
  clear(): void {
    if (this.#rows.size > 0) this.#rows = new Map()
  }
}

/**
 * What a benchmark figure reports: one or more rows of the table, each our number beside a peer's
 * or the machine's limit measured in the same run, with the ratio and the target.
 */
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

export interface BenchRow {
  /** What is measured, e.g. `append throughput`. */
  readonly figure: string
  readonly unit: string
  readonly ours: number
  /** What stands beside it (a peer or the machine's limit), or null for an absolute target. */
  readonly beside: string | null
  readonly besideValue: number | null
  /** ours / beside (or beside / ours for latencies, so above 1 is always better for us); null without a beside. */
  readonly ratio: number | null
  /** The target, in words. */
  readonly target: string
  readonly met: boolean
  /** Dataset size and anything else a reader needs. */
  readonly note: string
}

export interface BenchContext {
  /** Multiplies every dataset size; 1 is the full run. */
  readonly scale: number
  /** A scratch folder of this figure, removed afterwards. */
  readonly workDir: string
  readonly log: (message: string) => void
}

export interface BenchFigure {
  readonly name: string
  readonly run: (context: BenchContext) => Promise<ReadonlyArray<BenchRow>>
}

/** `count` scaled, at least `min`. */
export const scaled = (context: BenchContext, count: number, min = 1): number => Math.max(min, Math.round(count * context.scale))

/** A fresh subfolder of the figure's work folder. */
export const freshDir = (context: BenchContext, name: string): string => {
  const dir = join(context.workDir, name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

/** The `p`-th percentile (0..100) of `values` (nearest rank). */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** A row where more is better (throughput): ratio = ours / beside. */
export const throughputRow = (
  row: Omit<BenchRow, "ratio" | "met">,
  met: (ours: number, ratio: number | null) => boolean
): BenchRow => {
  const ratio = row.besideValue === null || row.besideValue === 0 ? null : row.ours / row.besideValue
  return { ...row, ratio, met: met(row.ours, ratio) }
}

/** A row where less is better (latency, memory): ratio = beside / ours. */
export const latencyRow = (
  row: Omit<BenchRow, "ratio" | "met">,
  met: (ours: number, ratio: number | null) => boolean
): BenchRow => {
  const ratio = row.besideValue === null || row.ours === 0 ? null : row.besideValue / row.ours
  return { ...row, ratio, met: met(row.ours, ratio) }
}

/** Milliseconds since `start` (performance.now()). */
export const since = (start: number): number => performance.now() - start

let fullGc: (() => void) | undefined

/**
 * Collects the load generator's own garbage before a latency loop. The suite runs in one process,
 * and after the append and rebuild figures its old generation is large: a full collection of it
 * landing inside a loop of 200 timed requests was timed as the server's latency. `gc` is exposed
 * on the first call, not when the module loads.
 */
export const collectLoadGeneratorGarbage = (): void => {
  if (fullGc === undefined) {
    setFlagsFromString("--expose-gc")
    fullGc = runInNewContext("gc") as () => void
  }
  fullGc()
}

/**
 * `items` in `rounds` consecutive slices of nearly equal length, for figures whose sides take
 * turns: a slow minute of a shared machine then lands on every side, not on whichever ran then.
 */
export const inRounds = <T>(items: ReadonlyArray<T>, rounds: number): Array<ReadonlyArray<T>> => {
  const perRound = Math.ceil(items.length / rounds)
  return Array.from({ length: rounds }, (_, r) => items.slice(r * perRound, (r + 1) * perRound))
}

/** One side's work over the rounds: items done and the ms they took, summed; `perSecond` is its rate. */
export class RoundTotals {
  #count = 0
  #millis = 0
  add(round: { readonly count: number; readonly millis: number }): void {
    this.#count += round.count
    this.#millis += round.millis
  }
  get count(): number {
    return this.#count
  }
  perSecond(): number {
    return this.#count / (this.#millis / 1000)
  }
}

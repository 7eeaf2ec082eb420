// The walk both hashing pickers share. Maglev's lookup table and the ring's
// sorted points are each a circular array of owners (backend indexes); a key
// lands on one position (maglev: hash mod M; ring: the first point >= hash)
// and its fallback order is the owners met walking from there with a fixed
// step: the ring steps to the next point clockwise (step 1); maglev steps by a
// key-derived stride (see maglev.ts for why not step 1). So a key's first
// choice, its retry after a failure, and its overflow under bounded load are
// all deterministic and agree across workers and balancers.
//
// Bounded load (HAProxy `hash-balance-factor`, Envoy's bounded-load hashing):
// with balanceFactor f > 1 a backend of weight w may take a new flow only while
//   active < cap = ceil(f × (poolActive + 1) × w / totalWeight)
// i.e. no backend is pushed above f times its fair share of the pool's
// connections (counting the new one). The caps sum to more than poolActive,
// so some backend is always under its cap; if the ones under it are all tried
// or at maxconn, availability wins and the first available backend in hash
// order takes the flow above its cap.
import type { BackendLoad, PickerBackend, PickerOptions } from './picker.ts'
import { isAvailable } from './eligible.ts'

export class HashWalk<B extends PickerBackend> {
  private readonly backends: readonly B[]
  private readonly owners: Int32Array
  private readonly distinct: number // owners present in the table
  private readonly factor: number // 0 = bounded load off
  private readonly totalWeight: number
  private readonly poolLoad: BackendLoad | undefined
  private readonly marks: Uint32Array // per backend: stamp of the pick that rejected it
  private stamp = 0

  /** `owners[i]` indexes `backends`; built in a factory, never per pick. */
  constructor(backends: readonly B[], owners: Int32Array, options: PickerOptions) {
    this.backends = backends
    this.owners = owners
    const seen = new Uint8Array(backends.length)
    let distinct = 0
    for (let i = 0; i < owners.length; i++) {
      if (seen[owners[i]] === 0) {
        seen[owners[i]] = 1
        distinct++
      }
    }
    this.distinct = distinct
    this.factor = options.balanceFactor > 1 ? options.balanceFactor : 0
    let w = 0
    for (const b of backends) w += b.weight
    this.totalWeight = w
    this.poolLoad = options.poolLoad
    this.marks = new Uint32Array(backends.length)
  }

  /**
   * Walk from `start` by `step` (0 <= start < owners.length, 1 <= step <
   * owners.length, coprime with it so every position is reachable) and return
   * the first backend that may take the flow, or undefined when none can.
   * Each backend is judged once per pick; the walk stops once every owner in
   * the table has been judged. No allocation.
   */
  pick(start: number, step: number, tried: readonly B[]): B | undefined {
    const owners = this.owners
    const len = owners.length
    if (this.distinct === 0) return undefined
    const bounded = this.factor > 0
    const poolActive = bounded ? this.poolActive() : 0
    // wrap below 2^30 so the counter stays a small integer (never boxed)
    if (++this.stamp === 0x3fffffff) {
      this.marks.fill(0)
      this.stamp = 1
    }
    const stamp = this.stamp
    let fallback = -1
    let judged = 0
    let idx = start
    for (let k = 0; k < len; k++) {
      const o = owners[idx]
      idx += step
      if (idx >= len) idx -= len
      if (this.marks[o] === stamp) continue
      this.marks[o] = stamp
      const b = this.backends[o]
      if (isAvailable(b, tried)) {
        if (!bounded || b.load.active < this.cap(b, poolActive)) return b
        if (fallback < 0) fallback = o
      }
      if (++judged === this.distinct) break
    }
    return fallback >= 0 ? this.backends[fallback] : undefined
  }

  /**
   * The owner at `index` when it may take the flow as a first choice
   * (available and, with bounded load, under its cap), else undefined.
   * A fast path for callers whose step is costly to compute: only when this
   * says no do they need pick().
   */
  first(index: number, tried: readonly B[]): B | undefined {
    if (this.distinct === 0) return undefined
    const b = this.backends[this.owners[index]]
    if (!isAvailable(b, tried)) return undefined
    if (this.factor > 0 && b.load.active >= this.cap(b, this.poolActive())) return undefined
    return b
  }

  /** ceil(f × (poolActive + 1) × w / W); the epsilon keeps 5.0000000001 from rounding to 6. */
  private cap(b: B, poolActive: number): number {
    return Math.ceil((this.factor * (poolActive + 1) * b.weight) / this.totalWeight - 1e-9)
  }

  private poolActive(): number {
    if (this.poolLoad !== undefined) return this.poolLoad.active
    let sum = 0
    for (let i = 0; i < this.backends.length; i++) sum += this.backends[i].load.active
    return sum
  }
}

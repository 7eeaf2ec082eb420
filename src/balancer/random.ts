// Weighted random: backend i with probability weight_i / totalWeight, drawn
// from a generator seeded from options.random at build time (prng.ts says why
// not options.random per pick; an injected seeded random keeps tests
// reproducible). If the draw
// lands on a backend that is tried or at maxconn, the choice is redrawn among
// the available ones only, keeping their relative weights. No allocation.
// With options.weighBy 'success-latency' each backend's weight is multiplied
// by load.successRate (observe http-connect; absent = 1) and divided by its
// connect-latency EWMA (a backend with none yet gets the mean of those that
// have one, all 1 when none has; under 1 ms counts as 1 ms, weigh.ts), read at each pick: the weights change with
// every answer, so there is no cumulative table and a pick is O(n).
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { isAvailable, usableBackends } from './eligible.ts'
import { Prng30, PRNG_SCALE } from './prng.ts'
import { weighLatency } from './weigh.ts'

export function createRandomPicker<B extends PickerBackend>(backends: readonly B[], options: PickerOptions): Picker<B> {
  const list = usableBackends(backends)
  const n = list.length
  const cumulative = new Float64Array(n) // cumulative[i] = sum of weights 0..i
  let sum = 0
  for (let i = 0; i < n; i++) {
    sum += list[i].weight
    cumulative[i] = sum
  }
  const prng = new Prng30(options.random)
  if (options.weighBy === 'success-latency') {
    const scratch = new Float64Array(n)
    return { name: 'random', pick: (_hash: number, tried: readonly B[]): B | undefined => weighedDraw(list, tried, prng, scratch) }
  }
  return {
    name: 'random',
    pick(_hash: number, tried: readonly B[]): B | undefined {
      if (n === 0) return undefined
      const r = prng.next30() * PRNG_SCALE * sum
      // first i with cumulative[i] > r
      let lo = 0
      let hi = n - 1
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (cumulative[mid] > r) hi = mid
        else lo = mid + 1
      }
      if (isAvailable(list[lo], tried)) return list[lo]
      return redraw(list, tried, prng)
    },
  }
}

/**
 * Draw among the available backends in proportion to weight × successRate /
 * latency (`fill`, the mean known latency, for a backend with none yet).
 * `scratch` (one slot per backend, allocated at build) holds each weight of
 * this draw, so doubles are never boxed: O(n), no allocation. Undefined when none is available.
 */
function weighedDraw<B extends PickerBackend>(list: readonly B[], tried: readonly B[], prng: Prng30, scratch: Float64Array): B | undefined {
  let latSum = 0
  let latN = 0
  for (let i = 0; i < list.length; i++) {
    const l = weighLatency(list[i].load)
    if (l > 0) {
      latSum += l
      latN++
    }
  }
  const fill = latN === 0 ? 1 : latSum / latN
  let total = 0
  let last = -1
  for (let i = 0; i < list.length; i++) {
    if (!isAvailable(list[i], tried)) {
      scratch[i] = 0
      continue
    }
    const b = list[i]
    const l = weighLatency(b.load)
    scratch[i] = (b.weight * (b.load.successRate ?? 1)) / (l > 0 ? l : fill)
    total += scratch[i]
    last = i
  }
  if (last < 0) return undefined
  let r = prng.next30() * PRNG_SCALE * total
  for (let i = 0; i < last; i++) {
    if (scratch[i] === 0) continue
    r -= scratch[i]
    if (r < 0) return list[i]
  }
  return list[last]
}

/** Weighted draw among the available backends only (O(n)); undefined when none. */
function redraw<B extends PickerBackend>(list: readonly B[], tried: readonly B[], prng: Prng30): B | undefined {
  let avail = 0
  let last = -1
  for (let i = 0; i < list.length; i++) {
    if (isAvailable(list[i], tried)) {
      avail += list[i].weight
      last = i
    }
  }
  if (last < 0) return undefined
  let r = prng.next30() * PRNG_SCALE * avail
  for (let i = 0; i < last; i++) {
    if (!isAvailable(list[i], tried)) continue
    r -= list[i].weight
    if (r < 0) return list[i]
  }
  return list[last]
}

// Power of two choices (Mitzenmacher): draw two distinct backends uniformly at
// random and keep the less loaded, scored as (active + 1) / weight. With
// options.p2cLatency the score is multiplied by the backend's connect-latency
// EWMA, so a slow proxy with as many connections as a fast one loses the duel
// and gets fewer new flows. A backend with no measurement yet (EWMA 0) is
// compared on connections alone, so it gets flows and earns a measurement.
// With options.weighBy 'success-latency' (Envoy's least-request with its
// active-request bias, weighted by the success rate its outlier detection
// reads) the score is (active + 1) × latency / (weight × successRate): the
// latency as above (always, no need for p2cLatency), and load.successRate
// (observe http-connect; absent = 1) divides it, so a proxy answering 503
// loses nearly every duel. Latencies under 1 ms count as 1 ms then (weigh.ts says why).
// Equal scores keep the first draw. Tried / maxconn backends are never drawn.
// Draws come from a generator seeded from options.random at build time
// (prng.ts says why); no allocation.
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { isAvailable, usableBackends } from './eligible.ts'
import { Prng30 } from './prng.ts'
import { weighLatency } from './weigh.ts'

export function createP2cPicker<B extends PickerBackend>(backends: readonly B[], options: PickerOptions): Picker<B> {
  const list = usableBackends(backends)
  const n = list.length
  const prng = new Prng30(options.random)
  const weigh = options.weighBy === 'success-latency'
  const useLatency = options.p2cLatency || weigh

  /** True when b should win over a (strictly better score). */
  function better(b: B, a: B): boolean {
    let sb = (b.load.active + 1) * a.weight
    let sa = (a.load.active + 1) * b.weight
    const lb = weigh ? weighLatency(b.load) : b.load.latencyEwmaMs
    const la = weigh ? weighLatency(a.load) : a.load.latencyEwmaMs
    if (useLatency && lb > 0 && la > 0) {
      sb *= lb
      sa *= la
    }
    if (weigh) {
      sb *= a.load.successRate ?? 1
      sa *= b.load.successRate ?? 1
    }
    return sb < sa
  }

  /** The k-th available backend (0-based) in list order. */
  function nthAvailable(k: number, tried: readonly B[]): B {
    for (let i = 0; i < n; i++) {
      if (!isAvailable(list[i], tried)) continue
      if (k-- === 0) return list[i]
    }
    return list[n - 1] // unreachable when k < the available count
  }

  return {
    name: 'p2c',
    pick(_hash: number, tried: readonly B[]): B | undefined {
      if (n === 0) return undefined
      if (n === 1) return isAvailable(list[0], tried) ? list[0] : undefined
      // fast path: two distinct uniform draws over the whole list
      const i = prng.below(n)
      let j = prng.below(n - 1)
      if (j >= i) j++
      const a = list[i]
      const b = list[j]
      if (isAvailable(a, tried) && isAvailable(b, tried)) return better(b, a) ? b : a
      // slow path: the same duel restricted to the available backends
      let avail = 0
      for (let k = 0; k < n; k++) if (isAvailable(list[k], tried)) avail++
      if (avail === 0) return undefined
      if (avail === 1) return nthAvailable(0, tried)
      const x = prng.below(avail)
      let y = prng.below(avail - 1)
      if (y >= x) y++
      const c = nthAvailable(x, tried)
      const d = nthAvailable(y, tried)
      return better(d, c) ? d : c
    },
  }
}

// Smooth weighted round-robin, as nginx does it (ngx_http_upstream_get_peer):
// every pick, each candidate's current weight grows by its weight; the one
// with the highest current weight wins (first in list order on ties) and is
// lowered by the sum of the candidates' weights. Weights 5,1,1 give
// a a b a c a a: the heavy backend's turns are spread out, not bunched.
// A backend that is tried or at maxconn is not a candidate for that pick (it
// neither gains nor loses), as nginx skips down/max_conns peers. No allocation.
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { isAvailable, usableBackends } from './eligible.ts'

export function createWeightedRoundRobinPicker<B extends PickerBackend>(
  backends: readonly B[],
  _options: PickerOptions,
): Picker<B> {
  const list = usableBackends(backends)
  const n = list.length
  const current = new Float64Array(n)
  return {
    name: 'weighted-round-robin',
    pick(_hash: number, tried: readonly B[]): B | undefined {
      let best = -1
      let total = 0
      for (let i = 0; i < n; i++) {
        const b = list[i]
        if (!isAvailable(b, tried)) continue
        current[i] += b.weight
        total += b.weight
        if (best < 0 || current[i] > current[best]) best = i
      }
      if (best < 0) return undefined
      current[best] -= total
      return list[best]
    },
  }
}

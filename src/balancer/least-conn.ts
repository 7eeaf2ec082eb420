// Weighted least connections: the backend with the lowest (active + 1) / weight,
// i.e. the one whose load after taking this flow is smallest relative to its
// capacity (the +1 lets weights matter when everything is idle). Ties rotate:
// the scan starts after the previous winner, so equal backends take turns
// instead of the first one absorbing every burst. No allocation.
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { isAvailable, usableBackends } from './eligible.ts'

export function createLeastConnPicker<B extends PickerBackend>(
  backends: readonly B[],
  _options: PickerOptions,
): Picker<B> {
  const list = usableBackends(backends)
  const n = list.length
  let start = 0
  return {
    name: 'least-conn',
    pick(_hash: number, tried: readonly B[]): B | undefined {
      let best = -1
      for (let k = 0; k < n; k++) {
        const i = start + k < n ? start + k : start + k - n
        const b = list[i]
        if (!isAvailable(b, tried)) continue
        if (best < 0) {
          best = i
          continue
        }
        const c = list[best]
        // (b.active+1)/b.weight < (c.active+1)/c.weight, without division
        if ((b.load.active + 1) * c.weight < (c.load.active + 1) * b.weight) best = i
      }
      if (best < 0) return undefined
      start = best + 1 === n ? 0 : best + 1
      return list[best]
    },
  }
}

// Round-robin: each backend in turn, weights ignored (use
// weighted-round-robin for weights). A backend that is tried or at maxconn
// is passed over and the turn moves on. No allocation per pick.
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { isAvailable, usableBackends } from './eligible.ts'

export function createRoundRobinPicker<B extends PickerBackend>(
  backends: readonly B[],
  _options: PickerOptions,
): Picker<B> {
  const list = usableBackends(backends)
  const n = list.length
  let next = 0
  return {
    name: 'round-robin',
    pick(_hash: number, tried: readonly B[]): B | undefined {
      for (let k = 0; k < n; k++) {
        const i = next + k < n ? next + k : next + k - n
        const b = list[i]
        if (isAvailable(b, tried)) {
          next = i + 1 === n ? 0 : i + 1
          return b
        }
      }
      return undefined
    },
  }
}

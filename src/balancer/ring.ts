// Ring (ketama) picker: consistent hashing on a continuum of md5 points built
// by the `hashring` package (see ring-table.ts for why we copy its points out
// rather than calling its get()). pick = binary search of the flow hash for
// the first point clockwise; the fallback (tried, maxconn, bounded-load
// overflow) is the next points clockwise (hash-walk.ts). No md5 and no
// allocation per pick.
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { usableBackends } from './eligible.ts'
import { HashWalk } from './hash-walk.ts'
import { ringIndex } from './ring-table.ts'
import { syncTables } from './tables.ts'

export interface RingPicker<B extends PickerBackend> extends Picker<B> {
  /** Number of points on the ring. */
  readonly size: number
  /** Share of the 2^32 circle owned per backend (its expected load), summing to 1. */
  arcShares(): Map<B, number>
  shares(): Map<B, number>
}

export function createRingPicker<B extends PickerBackend>(backends: readonly B[], options: PickerOptions): RingPicker<B> {
  const usable = usableBackends(backends)
  const { points, owners } = (options.tables ?? syncTables).ring(
    usable.map((b) => b.id),
    usable.map((b) => b.weight),
  )
  const walk = new HashWalk(usable, owners, options)
  const arcShares = (): Map<B, number> => {
    const shares = new Map<B, number>(usable.map((b) => [b, 0]))
    const n = points.length
    for (let i = 0; i < n; i++) {
      // point i owns the keys in (previous point, point i]; the first wraps around
      const arc = i === 0 ? points[0] + 2 ** 32 - points[n - 1] : points[i] - points[i - 1]
      const b = usable[owners[i]]
      shares.set(b, shares.get(b)! + arc / 2 ** 32)
    }
    return shares
  }
  return {
    name: 'ring',
    size: points.length,
    pick(hash: number, tried: readonly B[]): B | undefined {
      if (points.length === 0) return undefined
      const i = ringIndex(points, hash)
      return walk.first(i, tried) ?? walk.pick(i, 1, tried)
    },
    arcShares,
    shares: arcShares,
  }
}

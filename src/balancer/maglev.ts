// Maglev picker: one table lookup per flow, minimal disruption, even spread.
// The table (maglev-table.ts) is built here, in the factory, from the usable
// backends' stable ids and weights; pick is `table[hash mod M]`, and its
// fallback (tried, maxconn, bounded-load overflow) is the key's next table
// slots (hash-walk.ts), so it too is the same on every worker and balancer.
//
// "Next slots" are probed with a key-derived stride, slot_k = (hash + k ×
// stride) mod M with stride = h2(hash) mod (M-1) + 1 (M prime: every slot
// is reached), not slot+1. A backend's slots lie on its own arithmetic
// progression (offset + j × skip), so the owner of the ADJACENT slot is
// correlated with it: with 5 backends, the keys of one backend fell back
// 15% / 18% / 31% / 35% onto the other four. With a per-key stride the
// fallback follows table shares (about 25% each).
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { usableBackends } from './eligible.ts'
import { HashWalk } from './hash-walk.ts'
import { probeStride } from './hash.ts'
import { maglevTableSize } from './maglev-table.ts'
import { syncTables } from './tables.ts'

export interface MaglevPicker<B extends PickerBackend> extends Picker<B> {
  /** The prime table size in use (see maglevTableSize). */
  readonly tableSize: number
  /** Slots owned per backend, in the order of `backends` (for benches and status). */
  slotCounts(): Map<B, number>
  shares(): Map<B, number>
}

export function createMaglevPicker<B extends PickerBackend>(
  backends: readonly B[],
  options: PickerOptions,
): MaglevPicker<B> {
  const usable = usableBackends(backends)
  const m = maglevTableSize(options.tableSize, usable.length)
  const table = (options.tables ?? syncTables).maglev(
    usable.map((b) => b.id),
    usable.map((b) => b.weight),
    m,
  )
  const walk = new HashWalk(usable, usable.length === 0 ? new Int32Array(0) : table, options)
  const slotCounts = (): Map<B, number> => {
    const counts = new Map<B, number>(usable.map((b) => [b, 0]))
    for (let i = 0; i < table.length; i++) if (table[i] >= 0) counts.set(usable[table[i]], counts.get(usable[table[i]])! + 1)
    return counts
  }
  return {
    name: 'maglev',
    tableSize: m,
    pick(hash: number, tried: readonly B[]): B | undefined {
      const slot = hash % m
      return walk.first(slot, tried) ?? walk.pick(slot, probeStride(hash, m), tried)
    },
    slotCounts,
    shares(): Map<B, number> {
      const counts = slotCounts()
      for (const [b, c] of counts) counts.set(b, c / m)
      return counts
    },
  }
}

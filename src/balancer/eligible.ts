// Shared checks every picker applies: who may be in a table at all, and who
// may take THIS flow. Pure; no allocation.
import type { PickerBackend } from './picker.ts'

/**
 * Backends a picker builds its table from: a finite weight > 0. The caller
 * should already pass only backends that may take new flows; this guards
 * against a weight of 0 ("takes no new flows") slipping through.
 * Allocates; call it in a factory, never per pick.
 */
export function usableBackends<B extends PickerBackend>(backends: readonly B[]): B[] {
  return backends.filter((b) => Number.isFinite(b.weight) && b.weight > 0)
}

/**
 * True when the backend already failed this flow. Compared by `id`, not by
 * object: a health snapshot applied while the flow was connecting rebuilds the
 * pool's backend records, and the retry must still skip the backend that just
 * refused it (by identity it would be tried again, until the retries ran out
 * on one dead backend). Ids are unique within a pool; a flow stays in one pool.
 */
export function wasTried(b: PickerBackend, tried: readonly PickerBackend[]): boolean {
  for (let i = 0; i < tried.length; i++) if (tried[i] === b || tried[i].id === b.id) return true
  return false
}

/** True when maxconn is set and reached. */
export function atMaxconn(b: PickerBackend): boolean {
  return b.maxconn > 0 && b.load.active >= b.maxconn
}

/** May this backend take this flow: not tried, not at maxconn. */
export function isAvailable(b: PickerBackend, tried: readonly PickerBackend[]): boolean {
  return !atMaxconn(b) && !wasTried(b, tried)
}

/** Sum of weights (factory-time helper). */
export function totalWeight(backends: readonly PickerBackend[]): number {
  let w = 0
  for (const b of backends) w += b.weight
  return w
}

// The effective backend state: operator intent x health verdict x passive
// ejection, folded into the one BackendState the data path acts on. Pure.
// The full table and what each state means for new and established flows is
// in docs/backend-states.md.
import type { AdminState, BackendState, HealthVerdict } from './types.ts'

/**
 * Precedence, strongest first:
 * 1. admin `maint`               -> 'maint' (health is still checked, but hidden)
 * 2. verdict `down` or ejected   -> 'down'  (even when draining: no new flows either way,
 *                                            and "down" is the more useful thing to show)
 * 3. admin `drain`               -> 'drain'
 * 4. otherwise                   -> 'ready' (`unknown` counts as up)
 */
export function effectiveState(admin: AdminState, verdict: HealthVerdict, ejected: boolean): BackendState {
  if (admin === 'maint') return 'maint'
  if (verdict === 'down' || ejected) return 'down'
  if (admin === 'drain') return 'drain'
  return 'ready'
}

/**
 * Whether a backend takes new flows, i.e. goes into the picker: state
 * `ready` and an effective weight > 0 (weight 0 drains like `drain`). The one
 * test for this everywhere (pickers' input, /healthz, ejection guards).
 */
export function takesNewFlows(b: { readonly state: BackendState; readonly weight: number }): boolean {
  return b.state === 'ready' && b.weight > 0
}

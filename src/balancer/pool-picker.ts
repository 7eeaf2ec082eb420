// A pool's picker with backups (HAProxy `backup` servers): the policy runs over
// the primaries, and over the backups only when no primary can take the flow
// (all down, tried, at maxconn, or none configured). Both sets use the same
// policy and options; bounded load reads the same pool-wide counter, so the
// backups' caps are computed against the whole pool's connections.
import type { PolicyName } from './policies.ts'
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { createPicker, DEFAULT_PICKER_OPTIONS } from './registry.ts'

/**
 * Build once per backend set / state change. `primaries` and `backups` hold
 * only the backends that may take new flows. pick returns undefined when
 * neither set can take the flow. No allocation per pick.
 */
export function createPoolPicker<B extends PickerBackend>(
  policy: PolicyName,
  primaries: readonly B[],
  backups: readonly B[],
  options: PickerOptions = DEFAULT_PICKER_OPTIONS,
): Picker<B> {
  const primary = createPicker(policy, primaries, options)
  if (backups.length === 0) return primary
  const backup = createPicker(policy, backups, options)
  return {
    name: policy,
    pick(hash: number, tried: readonly B[]): B | undefined {
      return primary.pick(hash, tried) ?? backup.pick(hash, tried)
    },
  }
}

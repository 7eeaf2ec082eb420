// Pickers by policy name, derived from the policy table (policies.ts). The
// proxy asks for a picker by the configured PolicyName and never switches on
// the algorithm itself.
import { maglevTableSize, DEFAULT_MAGLEV_TABLE_SIZE } from './maglev-table.ts'
import { usableBackends } from './eligible.ts'
import type { Picker, PickerBackend, PickerOptions } from './picker.ts'
import { policyTraits, type PolicyName } from './policies.ts'
import type { TableSpec } from './tables.ts'

export { POLICY_NAMES, type PolicyName } from './policies.ts'

/** Defaults for callers that do not care: table 65537, bounded load off, no latency, Math.random. */
export const DEFAULT_PICKER_OPTIONS: PickerOptions = Object.freeze({
  tableSize: DEFAULT_MAGLEV_TABLE_SIZE,
  balanceFactor: 0,
  p2cLatency: false,
  random: Math.random,
})

/**
 * Build the picker for `name` over `backends` (those that may take new flows).
 * Call on every backend set / weight / state change; never per connection.
 * Throws a TypeError only for a name outside the policy table (a programming
 * error: config validation has already restricted it).
 */
export function createPicker<B extends PickerBackend>(
  name: PolicyName,
  backends: readonly B[],
  options: PickerOptions = DEFAULT_PICKER_OPTIONS,
): Picker<B> {
  const traits = policyTraits(name)
  if (traits === undefined) throw new TypeError(`unknown balancing policy: ${String(name)}`)
  return traits.factory(backends, options)
}

/**
 * The tables `policy` would build over each of `sets` (e.g. primaries, then
 * backups), computed the way its factory computes them (usable backends,
 * table size from `requestedM`). A policy whose row has no table, or an
 * unknown name: [].
 */
export function tableSpecs(policy: string, sets: readonly (readonly PickerBackend[])[], requestedM: number): TableSpec[] {
  const table = policyTraits(policy)?.table ?? null
  if (table === null) return []
  return sets.flatMap((set) => {
    const usable = usableBackends(set)
    if (usable.length === 0) return []
    const ids = usable.map((b) => b.id)
    const weights = usable.map((b) => b.weight)
    return [table === 'maglev' ? { kind: 'maglev' as const, ids, weights, m: maglevTableSize(requestedM, usable.length) } : { kind: 'ring' as const, ids, weights }]
  })
}

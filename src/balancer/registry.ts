// Pickers by policy name. The proxy asks for a picker by the configured
// PolicyName and never switches on the algorithm itself.
import type { PolicyName } from '../config/types.ts'
import type { Picker, PickerBackend, PickerFactory, PickerOptions } from './picker.ts'
import { createMaglevPicker } from './maglev.ts'
import { createRingPicker } from './ring.ts'
import { createRoundRobinPicker } from './round-robin.ts'
import { createWeightedRoundRobinPicker } from './weighted-round-robin.ts'
import { createLeastConnPicker } from './least-conn.ts'
import { createRandomPicker } from './random.ts'
import { createP2cPicker } from './p2c.ts'
import { DEFAULT_MAGLEV_TABLE_SIZE } from './maglev-table.ts'

const factories: Readonly<Record<PolicyName, PickerFactory>> = Object.freeze({
  maglev: createMaglevPicker,
  ring: createRingPicker,
  'round-robin': createRoundRobinPicker,
  'weighted-round-robin': createWeightedRoundRobinPicker,
  'least-conn': createLeastConnPicker,
  random: createRandomPicker,
  p2c: createP2cPicker,
})

/** Every policy name the registry knows, in a stable order. */
export const POLICY_NAMES: readonly PolicyName[] = Object.freeze(Object.keys(factories) as PolicyName[])

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
 * Throws only for a name outside PolicyName (a programming error: config
 * validation has already restricted it).
 */
export function createPicker<B extends PickerBackend>(
  name: PolicyName,
  backends: readonly B[],
  options: PickerOptions = DEFAULT_PICKER_OPTIONS,
): Picker<B> {
  const factory = Object.hasOwn(factories, name) ? factories[name] : undefined
  if (factory === undefined) throw new TypeError(`unknown balancing policy: ${String(name)}`)
  return factory(backends, options)
}

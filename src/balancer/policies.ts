// The one table of balancing policies: each name with its factory and the
// traits the rest of l4lb branches on, in the spirit of HAProxy's
// BE_LB_KIND_* / BE_LB_NEED_* bits (include/haproxy/backend-t.h). Everything
// else derives from it: the config type and schema (list, docs, rules), the
// registry, the slow-start decision, table building off the event loop, the
// hash benchmark and the contract tests. A new policy is its own file, one
// row here and its tests; nothing else compares policy names.
//
// This module sits below src/config (config imports it, never the reverse).
import { createLeastConnPicker } from './least-conn.ts'
import { createMaglevPicker } from './maglev.ts'
import { createP2cPicker } from './p2c.ts'
import type { PickerFactory } from './picker.ts'
import { createRandomPicker } from './random.ts'
import { createRingPicker } from './ring.ts'
import { createRoundRobinPicker } from './round-robin.ts'
import type { TableSpec } from './tables.ts'
import { createWeightedRoundRobinPicker } from './weighted-round-robin.ts'

/**
 * Pool keys (YAML spelling) that only some policies read. The config rejects
 * `balance-factor` and `p2c-latency` set on a policy whose row does not list
 * them; `maglev-table-size` always has a value, and its minimum-size rule
 * applies to the policies that list it.
 */
export type PolicyOption = 'balance-factor' | 'p2c-latency' | 'maglev-table-size' | 'weigh-by'

/**
 * What the non-hashing pickers that take `weigh-by` multiply each backend's
 * weight by: `none` nothing; `success-latency` its CONNECT success rate over
 * the observe window divided by its connect-latency EWMA (p2c.ts, random.ts).
 */
export const WEIGH_BY = ['none', 'success-latency'] as const
export type WeighBy = (typeof WEIGH_BY)[number]

/** A lookup table a policy builds per backend set (tables.ts), large ones off the event loop. */
export type PolicyTable = TableSpec['kind']

export interface PolicyTraits {
  /** Builds the picker; called per backend-set change, never per flow. */
  readonly factory: PickerFactory
  /**
   * Maps `hash-key` onto backend ids (consistent: a client keeps its backend
   * while the set is stable). Hashing policies do not ramp weights on slow
   * start (each step would move keys again), and run the hashing contract
   * suite (test/balancer/hashing-contract.test.ts).
   */
  readonly hashing: boolean
  /** The policy-specific pool keys it reads. */
  readonly options: readonly PolicyOption[]
  /** The table it builds per backend set, or null (nothing worth building off the loop). */
  readonly table: PolicyTable | null
  /** One phrase for docs/configuration.md: what it does (no parentheses: the docs wrap it in some). */
  readonly doc: string
}

/** Every policy, in the order the docs list them. */
export const POLICIES = {
  maglev: {
    factory: createMaglevPicker, hashing: true, options: ['balance-factor', 'maglev-table-size'], table: 'maglev',
    doc: 'a Maglev lookup table, one slot read per flow, even spread and minimal disruption',
  },
  ring: {
    factory: createRingPicker, hashing: true, options: ['balance-factor'], table: 'ring',
    doc: 'a ketama consistent-hash ring of md5 points, where a removed backend moves only its own keys',
  },
  'round-robin': { factory: createRoundRobinPicker, hashing: false, options: [], table: null, doc: 'each backend in turn' },
  'weighted-round-robin': { factory: createWeightedRoundRobinPicker, hashing: false, options: [], table: null, doc: 'smooth weighted round-robin, as nginx' },
  'least-conn': { factory: createLeastConnPicker, hashing: false, options: [], table: null, doc: 'fewest active connections relative to weight' },
  random: { factory: createRandomPicker, hashing: false, options: ['weigh-by'], table: null, doc: 'weighted random' },
  p2c: {
    factory: createP2cPicker, hashing: false, options: ['p2c-latency', 'weigh-by'], table: null,
    doc: 'power of two choices: the less loaded of two random backends',
  },
} as const satisfies Readonly<Record<string, PolicyTraits>>

export type PolicyName = keyof typeof POLICIES

/** Every policy name, in table order. */
export const POLICY_NAMES: readonly PolicyName[] = Object.freeze(Object.keys(POLICIES) as PolicyName[])

/** The row of `name`, or undefined for a string that is no policy (e.g. unvalidated config). */
export function policyTraits(name: string): PolicyTraits | undefined {
  return Object.hasOwn(POLICIES, name) ? POLICIES[name as PolicyName] : undefined
}

/** True when `name` is a hashing policy; false for other policies and for non-policies. */
export function isHashing(name: string): boolean {
  return policyTraits(name)?.hashing === true
}

/** True when policy `name` reads pool key `option`; false for a non-policy. */
export function takesOption(name: string, option: PolicyOption): boolean {
  return policyTraits(name)?.options.includes(option) === true
}

/** The policies that read `option`, in table order. */
export function policiesTaking(option: PolicyOption): PolicyName[] {
  return POLICY_NAMES.filter((n) => takesOption(n, option))
}

/** The hashing policies, in table order. */
export const HASHING_POLICIES: readonly PolicyName[] = Object.freeze(POLICY_NAMES.filter(isHashing))

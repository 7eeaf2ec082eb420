// Maglev lookup-table construction (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer", NSDI 2016, section 3.4), with
// Envoy's weighted turns. Pure: same inputs, same table, on any machine.
//
// Each backend gets a permutation of the M slots from two hashes of its stable
// id: offset = h1 mod M, skip = h2 mod (M-1) + 1, slot(j) = (offset + j×skip)
// mod M; M prime makes every permutation visit every slot. Backends take turns
// claiming their next unclaimed preferred slot until the table is full.
// Weights (Envoy's MaglevTable): on turn t a backend of weight w claims a slot
// only if t × w >= claims × maxWeight, so the heaviest backend claims every
// turn and one of half the weight every other turn. Every backend claims on
// turn 0, so each owns at least one slot.
//
// Turn order is by id (code-unit order, not locale), never by input position,
// so the same set of backends in any order yields the same table.
import { hashId, ID_SEED_OFFSET, ID_SEED_SKIP } from './hash.ts'
import { nextPrime } from './prime.ts'

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537

/**
 * Upper bound of the DEFAULT table size: the smallest prime >= 1,000,000
 * (4 MB a worker). Past 1,000 backends the default M/N falls from 1000 towards
 * 100 (at 10,000 backends, the most a pool may have), trading a little more
 * collateral key movement for a table that builds in ~0.2 s instead of ~7 s
 * (figures in docs/hashing.md, "Table size"). An explicit
 * `maglev-table-size` may go up to 16,777,216.
 */
export const DEFAULT_MAGLEV_TABLE_CAP = 1_000_003

/**
 * The smallest table a pool of `backendCount` may use: 100 slots a backend
 * (fewer spreads flows unevenly). Not necessarily prime; the config rejects an
 * explicit size below it, and sizes chosen here are the next prime at or above it.
 */
export function minMaglevTableSize(backendCount: number): number {
  return 100 * backendCount
}

/**
 * The table size a pool of `backendCount` gets when the config sets none:
 * 65537, or the smallest prime >= 1000 × backends when that is larger, capped
 * at DEFAULT_MAGLEV_TABLE_CAP but never below the smallest prime >= 100 ×
 * backends (the minimum an explicit size is held to). Keeping M/N >= 1000
 * keeps Maglev's collateral movement (keys of OTHER backends that move when
 * one leaves) near or below 0.5 % of keys; the table costs 4 bytes a slot per
 * worker. Sized from the configured set, never the live one, so M does not
 * change when backends go down.
 */
export function defaultMaglevTableSize(backendCount: number): number {
  const wanted = Math.max(DEFAULT_MAGLEV_TABLE_SIZE, 1000 * backendCount)
  return nextPrime(Math.max(Math.min(wanted, DEFAULT_MAGLEV_TABLE_CAP), minMaglevTableSize(backendCount)))
}

/**
 * The table size actually used: the smallest prime >= max(requested, 100 × n).
 * `requested` <= 0 means the default 65537. Config validation normally hands
 * in a prime sized for the full backend set, so this is the identity and M
 * does not change when a backend goes down (a new M would reshuffle all keys).
 */
export function maglevTableSize(requested: number, backendCount: number): number {
  const base = requested > 0 ? requested : DEFAULT_MAGLEV_TABLE_SIZE
  return nextPrime(Math.max(base, minMaglevTableSize(backendCount)))
}

/** Compare ids by UTF-16 code units: locale-independent, total. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Build the table: an Int32Array of length m whose slot i holds the index
 * (into `ids`/`weights`) of the backend owning it. With no backends every slot
 * is -1. `m` must be prime; weights must be > 0. Duplicate ids share one
 * permutation, so they split its slots between them: give backends unique ids.
 */
export function buildMaglevTable(ids: readonly string[], weights: readonly number[], m: number): Int32Array {
  const table = new Int32Array(m).fill(-1)
  const n = ids.length
  if (n === 0) return table
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareIds(ids[a], ids[b]))
  const skip = new Uint32Array(n)
  const next = new Uint32Array(n) // the backend's next preferred slot
  const claims = new Float64Array(n)
  let maxWeight = 0
  for (let i = 0; i < n; i++) {
    next[i] = hashId(ids[i], ID_SEED_OFFSET) % m
    skip[i] = (hashId(ids[i], ID_SEED_SKIP) % (m - 1)) + 1
    if (weights[i] > maxWeight) maxWeight = weights[i]
  }
  let filled = 0
  for (let turn = 0; filled < m; turn++) {
    for (let k = 0; k < n && filled < m; k++) {
      const i = order[k]
      if (turn * weights[i] < claims[i] * maxWeight) continue
      claims[i]++
      let c = next[i]
      while (table[c] >= 0) {
        c += skip[i]
        if (c >= m) c -= m
      }
      table[c] = i
      c += skip[i]
      if (c >= m) c -= m
      next[i] = c
      filled++
    }
  }
  return table
}

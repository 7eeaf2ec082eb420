// Ketama ring construction via the `hashring` package, flattened into typed
// arrays so a pick is a binary search over numbers.
//
// hashring builds the continuum the libketama way: for each server, vnodes ×
// share × n md5 digests of "<id>-<i>", four 32-bit points per digest, where
// share = weight / totalWeight (its `weight` option). We read those points
// with its public `points()` and copy them into a sorted Uint32Array plus an
// owner Int32Array. We never call its `get()`: that md5-hashes the key string
// and caches it in an LRU per lookup, i.e. allocates per connection. Instead
// the flow's uint32 from hash.ts is searched directly among the points.
//
// Points that collide (same uint32 from two ids) are ordered by id, so the
// ring does not depend on the order backends were given in.
import { createRequire } from 'node:module'
import { compareIds } from './maglev-table.ts'

interface HashRingInstance {
  points(): Record<string, number[]>
}
type HashRingCtor = new (
  servers: Record<string, { weight: number }>,
  algorithm: string,
  options: Record<string, number>,
) => HashRingInstance

const HashRing = createRequire(import.meta.url)('hashring') as HashRingCtor

/** Virtual nodes per backend at equal weights; each yields 4 points (ketama's default is 40). */
export const RING_VNODES = 160

export interface RingTable {
  readonly points: Uint32Array // ascending
  readonly owners: Int32Array // owners[i] indexes ids/weights; same length as points
}

const RANK_SPAN = 2 ** 20 // points (< 2^32) × 2^20 + rank stays below 2^53: exact in a double

/**
 * Build the ring for backends `ids` with `weights` (> 0, ids unique).
 * With no backends both arrays are empty.
 */
export function buildRingTable(ids: readonly string[], weights: readonly number[], vnodes = RING_VNODES): RingTable {
  const n = ids.length
  if (n === 0) return { points: new Uint32Array(0), owners: new Int32Array(0) }
  if (n >= RANK_SPAN) throw new RangeError(`ring: too many backends (${n})`)
  const servers: Record<string, { weight: number }> = Object.create(null)
  for (let i = 0; i < n; i++) servers[ids[i]] = { weight: weights[i] }
  const ring = new HashRing(servers, 'md5', { 'vnode count': vnodes, 'max cache size': 1 })
  const perServer = ring.points()

  // rank = position of the id in code-unit order: the tie-break for equal points
  const byId = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareIds(ids[a], ids[b]))
  let total = 0
  for (let i = 0; i < n; i++) total += perServer[ids[i]]?.length ?? 0
  const keys = new Float64Array(total)
  let k = 0
  for (let rank = 0; rank < n; rank++) {
    const pts = perServer[ids[byId[rank]]] ?? []
    for (const p of pts) keys[k++] = p * RANK_SPAN + rank
  }
  keys.sort()
  const points = new Uint32Array(total)
  const owners = new Int32Array(total)
  for (let i = 0; i < total; i++) {
    const rank = keys[i] % RANK_SPAN
    points[i] = (keys[i] - rank) / RANK_SPAN
    owners[i] = byId[rank]
  }
  return { points, owners }
}

/** Index of the first point >= hash, wrapping to 0 past the last (ketama's rule). `points` non-empty. */
export function ringIndex(points: Uint32Array, hash: number): number {
  let lo = 0
  let hi = points.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (points[mid] < hash) lo = mid + 1
    else hi = mid
  }
  return lo === points.length ? 0 : lo
}

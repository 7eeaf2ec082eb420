// Ketama ring construction, point for point the continuum of the `hashring`
// package, built straight into typed arrays so a pick is a binary search over
// numbers.
//
// hashring builds the continuum the libketama way: for each server, vnodes ×
// share × n md5 digests of "<id>-<i>", four 32-bit points per digest, where
// share = weight / totalWeight (its `weight` option). We compute the same
// points into a sorted Uint32Array plus an owner Int32Array. We never call its
// `get()`: that md5-hashes the key string
// and caches it in an LRU per lookup, i.e. allocates per connection. Instead
// the flow's uint32 from hash.ts is searched directly among the points.
//
// Points that collide (same uint32 from two ids) are ordered by id, so the
// ring does not depend on the order backends were given in.
import { hash } from 'node:crypto'
import { compareIds } from './maglev-table.ts'

/** Virtual nodes per backend at equal weights; each yields 4 points (ketama's default is 40). */
export const RING_VNODES = 160

export interface RingTable {
  readonly points: Uint32Array // ascending
  readonly owners: Int32Array // owners[i] indexes ids/weights; same length as points
}

const RANK_SPAN = 2 ** 20 // points (< 2^32) × 2^20 + rank stays below 2^53: exact in a double

/**
 * Build the ring for backends `ids` with `weights` (> 0, ids unique).
 * With no backends both arrays are empty. Throws RangeError past 2^20 backends.
 *
 * Same points as hashring's continuum (its `points()`; pinned by the golden
 * vectors and by an equivalence test against the package): backend i gets
 * floor(w_i / Σw × vnodes × n) md5 digests of "<id>-<k>", each giving four
 * little-endian uint32 points. Computed here with one-shot md5 into typed
 * arrays: hashring allocates an object per point and sorts objects, which
 * took ~2 minutes and ~1 GB at 10,000 backends; this takes a few seconds and
 * 16 bytes a point while building (8 bytes a point kept).
 */
export function buildRingTable(ids: readonly string[], weights: readonly number[], vnodes = RING_VNODES): RingTable {
  const n = ids.length
  if (n === 0) return { points: new Uint32Array(0), owners: new Int32Array(0) }
  if (n >= RANK_SPAN) throw new RangeError(`ring: too many backends (${n})`)
  let totalWeight = 0
  for (let i = 0; i < n; i++) totalWeight += weights[i]
  const digests = new Int32Array(n) // digests per backend (hashring's `length`)
  let total = 0
  for (let i = 0; i < n; i++) {
    digests[i] = Math.floor((weights[i] / totalWeight) * vnodes * n)
    total += 4 * digests[i]
  }
  // rank = position of the id in code-unit order: the tie-break for equal points
  const byId = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareIds(ids[a], ids[b]))
  const keys = new Float64Array(total)
  let k = 0
  for (let rank = 0; rank < n; rank++) {
    const id = ids[byId[rank]]
    for (let v = 0; v < digests[byId[rank]]; v++) {
      const d = hash('md5', `${id}-${v}`, 'buffer')
      for (let j = 0; j < 4; j++) keys[k++] = d.readUInt32LE(4 * j) * RANK_SPAN + rank
    }
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

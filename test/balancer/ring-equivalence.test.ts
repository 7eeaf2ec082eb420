// The ring's points equal the `hashring` package's continuum (the reference
// implementation of ketama the ring was first built with), for equal and
// mixed weights and for ids hashring would reorder (integer-like keys).
import { createRequire } from 'node:module'
import t from 'tap'
import { buildRingTable, RING_VNODES } from '../../src/balancer/ring-table.ts'

type HashRingCtor = new (servers: Record<string, { weight: number }>, algorithm: string, options: Record<string, number>) => { points(): Record<string, number[]> }
const HashRing = createRequire(import.meta.url)('hashring') as HashRingCtor

function reference(ids: string[], weights: number[]): Map<string, number[]> {
  const servers: Record<string, { weight: number }> = Object.create(null)
  ids.forEach((id, i) => (servers[id] = { weight: weights[i] }))
  const pts = new HashRing(servers, 'md5', { 'vnode count': RING_VNODES, 'max cache size': 1 }).points()
  return new Map(ids.map((id) => [id, [...(pts[id] ?? [])].sort((a, b) => a - b)]))
}

function ours(ids: string[], weights: number[]): Map<string, number[]> {
  const { points, owners } = buildRingTable(ids, weights)
  const out = new Map<string, number[]>(ids.map((id) => [id, []]))
  for (let i = 0; i < points.length; i++) out.get(ids[owners[i]])!.push(points[i])
  for (let i = 1; i < points.length; i++) if (points[i] < points[i - 1]) throw new Error('points not ascending')
  return out
}

const cases: [string, string[], number[]][] = [
  ['equal weights', ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', 'b', 'a'], [1, 1, 1, 1, 1]],
  ['mixed weights', ['p1', 'p2', 'p3', 'p4'], [1, 7, 256, 3]],
  ['integer-like ids', ['12', '3', 'x', '[::1]:80'], [2, 1, 1, 5]],
]
for (const [name, ids, weights] of cases) {
  t.test(name, async (t) => {
    t.same(ours(ids, weights), reference(ids, weights))
  })
}

// Shared test helpers for the pickers: mutable backends, a seeded PRNG and
// options. Not a test file (tap runs *.test.ts only).
import type { PickerBackend, PickerOptions } from '../../src/balancer/picker.ts'
import { DEFAULT_PICKER_OPTIONS } from '../../src/balancer/registry.ts'
import { hashFlow } from '../../src/balancer/hash.ts'

export interface TestBackend extends PickerBackend {
  maxconn: number
  weight: number
}

export function backend(id: string, weight = 1, maxconn = 0): TestBackend {
  return { id, weight, maxconn, load: { active: 0, latencyEwmaMs: 0 } }
}

/** n backends named like proxies: 10.0.<i/256>.<i%256>:3128 */
export function fleet(n: number, weight = 1): TestBackend[] {
  return Array.from({ length: n }, (_, i) => backend(`10.0.${i >> 8}.${i & 255}:3128`, weight))
}

/** mulberry32: a seeded [0,1) generator, so random-driven tests replay exactly. */
export function seeded(seed: number): () => number {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function options(over: Partial<PickerOptions> = {}): PickerOptions {
  return { ...DEFAULT_PICKER_OPTIONS, random: seeded(1), ...over }
}

/** Flow hashes of `count` distinct client addresses 172.16.x.y (deterministic). */
export function clientHashes(count: number): Uint32Array {
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    out[i] = hashFlow('src-ip', `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`, 0)
  }
  return out
}

/** Shuffle a copy with a seeded Fisher-Yates. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rnd = seeded(seed)
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}

export const NONE: readonly TestBackend[] = Object.freeze([])

/** The fixed backend set and client keys of the golden-vector tests. */
export const FIVE = ['proxy-a:3128', 'proxy-b:3128', 'proxy-c:3128', 'proxy-d:3128', 'proxy-e:3128']
export const KEYS = Array.from({ length: 16 }, (_, i) => `198.51.100.${i * 13 + 1}`)

/** The backend id each of KEYS gets (with `tried`: the fallback after its first choice). */
export function goldenIds(p: { pick(h: number, tried: readonly TestBackend[]): TestBackend | undefined }, tried = false): string[] {
  return KEYS.map((k) => {
    const h = hashFlow('src-ip', k, 0)
    const first = p.pick(h, NONE)!
    return tried ? p.pick(h, [first])!.id : first.id
  })
}

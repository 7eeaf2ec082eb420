// The supported scale (src/config/limits.ts) is enforced by `check`: a config
// past a limit is rejected with the count, the limit and the key path, and
// the default Maglev table stays within the documented maximum.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { DEFAULT_MAGLEV_TABLE_CAP, defaultMaglevTableSize } from '../../src/balancer/maglev-table.ts'
import { LIMITS } from '../../src/config/limits.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { ConfigError } from '../../src/config/types.ts'

// Configs at and past the limits are large YAML (~0.1 ms of CPU a backend to
// parse): room beyond the suite's 120 s per file on a loaded 2-core machine.
t.setTimeout(300_000)

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const MAX_TABLE = 16_777_216

// Backend i of a pool: a distinct loopback address (health none unless asked).
const backends = (n: number, from = 0): string =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k
    return `      - { host: 127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, port: 9 }`
  }).join('\n')
const poolYaml = (name: string, n: number, extra = 'health: { type: none }', from = 0): string =>
  `  - name: ${name}\n    ${extra}\n    backends:\n${backends(n, from)}`
const doc = (pools: string[], listeners = '  - { bind: 127.0.0.1:0, pool: p0 }'): string => `listeners:\n${listeners}\npools:\n${pools.join('\n')}\n`

function errorsOf(text: string): readonly ConfigError[] {
  const r = parseConfig(text)
  return r.ok ? [] : r.errors
}

t.test('a pool over the per-pool limit is rejected at its backends list, with the limit', async (t) => {
  const errors = errorsOf(doc([poolYaml('p0', LIMITS.backendsPerPool.value + 1)]))
  t.same(errors.map((e) => e.path), ['pools[0].backends'], 'one error, at the list (its items are not decoded)')
  t.match(errors[0].message, /10,001 backends in one pool is over the supported limit of 10,000 \(see docs\/performance.md/)
})

t.test('backends over all pools: rejected at pools, naming the largest pool', async (t) => {
  const per = LIMITS.backendsPerPool.value
  const errors = errorsOf(doc([poolYaml('p0', per), poolYaml('p1', per, undefined, per), poolYaml('p2', 1, undefined, 2 * per)]))
  t.equal(errors.length, 1)
  t.equal(errors[0].path, 'pools')
  t.match(errors[0].message, /20,001 backends over all pools is over the supported limit of 20,000 \(pools\[0\] has 10,000\)/)
})

t.test('pools, listeners and trusted CIDRs over their limits', async (t) => {
  const manyPools = Array.from({ length: LIMITS.pools.value + 1 }, (_, i) => poolYaml(`p${i}`, 1, 'health: { type: none }', i))
  const e1 = errorsOf(doc(manyPools))
  t.same(e1.map((e) => e.path), ['pools'])
  t.match(e1[0].message, /257 pools is over the supported limit of 256/)

  const manyListeners = Array.from({ length: LIMITS.listeners.value + 1 }, () => '  - { bind: 127.0.0.1:0, pool: p0 }').join('\n')
  const e2 = errorsOf(doc([poolYaml('p0', 1)], manyListeners))
  t.same(e2.map((e) => e.path), ['listeners'])
  t.match(e2[0].message, /257 listeners is over the supported limit of 256/)

  const cidrs = Array.from({ length: LIMITS.trustedCidrs.value + 1 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join(', ')
  const e3 = errorsOf(doc([poolYaml('p0', 1)], `  - { bind: 127.0.0.1:0, pool: p0, proxy-protocol: { accept: true, trusted: [ ${cidrs} ] } }`))
  t.same(e3.map((e) => e.path), ['listeners[0].proxy-protocol.trusted'])
  t.match(e3[0].message, /1,025 trusted CIDRs is over the supported limit of 1,024/)
})

t.test('a probe storm (backends / interval over the limit) is rejected, naming the pool', async (t) => {
  // 3,000 backends probed every 500 ms = 6,000 probes/s.
  const errors = errorsOf(doc([poolYaml('p0', 3000, 'health: { type: tcp, interval: 500ms }')]))
  t.equal(errors.length, 1)
  t.equal(errors[0].path, 'pools')
  t.match(errors[0].message, /6,000 health probes per second .* over the supported limit of 5,000 \(pools\[0\] has 6,000\); raise health.interval/)
  t.ok(parseConfig(doc([poolYaml('p0', 3000, 'health: { type: tcp, interval: 1s }')])).ok, 'the same pool at interval 1s (3,000/s) is valid')
})

t.test('agent polls count toward the probe rate', async (t) => {
  // 600 backends with tcp checks every 1 s (600/s) and agents every 125 ms (4,800/s) = 5,400/s.
  const withAgents = (n: number, every: string): string => `  - name: p0\n    health: { type: tcp, interval: 1s }\n    backends:\n` +
    Array.from({ length: n }, (_, i) => `      - { host: 127.0.${i >> 8}.${i & 255}, port: 9, agent: { port: 9999, interval: ${every}, timeout: 100ms } }`).join('\n')
  const errors = errorsOf(doc([withAgents(600, '125ms')]))
  t.same(errors.map((e) => e.path), ['pools'])
  t.match(errors[0].message, /5,400 health probes per second \(backends \/ interval, summed over pools, agent polls included\)/)
  t.ok(parseConfig(doc([withAgents(600, '1s')])).ok, 'agents every 1 s (1,200/s in all) are fine')
})

t.test('Maglev slots over all pools are bounded (each slot is 4 bytes in every worker)', async (t) => {
  const big = (i: number): string => poolYaml(`p${i}`, 1, 'maglev-table-size: 16777213\n    health: { type: none }', i)
  const errors = errorsOf(doc([big(0), big(1), big(2)]))
  t.same(errors.map((e) => e.path), ['pools'])
  t.match(errors[0].message, /50,331,639 Maglev table slots over all maglev pools is over the supported limit of 33,554,432/)
  t.ok(parseConfig(doc([big(0), big(1)])).ok, 'two such pools fit')
})

t.test('the default Maglev table stays within the documented maximum, and >= 100 x backends', async (t) => {
  for (const n of [1, 1000, 1001, 5000, LIMITS.backendsPerPool.value, 70_000, 167_772]) {
    const m = defaultMaglevTableSize(n)
    t.ok(m <= MAX_TABLE, `${n} backends: M = ${m} <= ${MAX_TABLE}`)
    t.ok(m >= 100 * n, `${n} backends: M >= 100 x N`)
  }
  t.equal(defaultMaglevTableSize(1000), DEFAULT_MAGLEV_TABLE_CAP, '1,000 backends: M/N = 1000 still (the cap)')
  t.equal(defaultMaglevTableSize(LIMITS.backendsPerPool.value), DEFAULT_MAGLEV_TABLE_CAP, 'the largest pool gets the cap, M/N = 100')
  const r = parseConfig(doc([poolYaml('p0', LIMITS.backendsPerPool.value)]))
  t.ok(r.ok && r.config.pools[0].maglevTableSize === DEFAULT_MAGLEV_TABLE_CAP, 'a config at the per-pool limit is valid and gets the capped default')
})

t.test('l4lb check exits 1 and prints the limit and the key path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-limits-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'big.yaml')
  writeFileSync(file, doc(Array.from({ length: LIMITS.pools.value + 1 }, (_, i) => poolYaml(`p${i}`, 1, 'health: { type: none }', i))))
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [MAIN, 'check', '-c', file], { timeout: 100_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }))
  })
  t.equal(code, 1)
  t.match(stderr, /pools: 257 pools is over the supported limit of 256/)
})

// Issue 9, kind 5: a probe speaks exactly what the data path speaks to the
// backend. Every probe kind (tcp, http, connect) x every send-proxy version
// (none, v1, v2) against a fixture that accepts only that version and closes
// on anything else: the backend comes up and never sees a header it rejects
// (v1 -> "PROXY UNKNOWN\r\n", v2 -> LOCAL, none -> nothing). The probe's
// connect phase is bounded by the data path's connect timeout.
import net from 'node:net'
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import { probeFor } from '../../src/health/probes/registry.ts'
import type { DataPathSettings, HealthChange } from '../../src/health/types.ts'
import type { HealthCheckType, SendProxy } from '../../src/config/types.ts'
import { setLogLevel } from '../../src/log.ts'
import type { FixtureBackend } from '../fixtures/backend.ts'
import { startProxyOnlyBackend } from '../fixtures/proxy-backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { startBlackhole } from '../hardening/blackhole.ts'
import { backendCfg, healthCfg, poolCfg } from './config.ts'
import { until } from '../helpers/until.ts'

setLogLevel('silent')

const KINDS = ['tcp', 'http', 'connect'] as const
const VERSIONS = ['none', 'v1', 'v2'] as const
const EXPECTED_HEADER: Record<SendProxy, string> = { none: 'none', v1: 'PROXY UNKNOWN', v2: 'v2 2000' }

function health(kind: Exclude<HealthCheckType, 'none'>) {
  return healthCfg({
    type: kind,
    intervalMs: 40,
    fastIntervalMs: 20,
    timeoutMs: 1000,
    rise: 2,
    fall: 1,
    connectTarget: kind === 'connect' ? { host: 'upstream.test', port: 443 } : null,
  })
}

for (const kind of KINDS) {
  for (const version of VERSIONS) {
    t.test(`${kind} check, send-proxy ${version}: a ${version}-only backend comes up`, async (t) => {
      const be = await startProxyOnlyBackend(version)
      t.teardown(() => be.close())
      const backend = backendCfg(be.port, { sendProxy: version })
      const changes: HealthChange[] = []
      const seen: (DataPathSettings | undefined)[] = []
      const real = probeFor(kind)!
      const checker = new HealthChecker({
        pools: [poolCfg('p', [backend], health(kind))],
        onChange: (c) => changes.push(c),
        dataPath: () => ({ connectMs: 2000 }),
        probe: (b, h, signal, dataPath) => (seen.push(dataPath), real(b, h, signal, dataPath)),
      })
      t.teardown(() => checker.stop())
      checker.start()
      const verdict = (): string | undefined => checker.table()[0].verdict
      await until(`up after ${checker.probesSent} probes`, () => verdict() === 'up' && checker.probesSent >= 4, { deadlineMs: 5000 })
      t.same(changes.filter((c) => c.kind === 'down').map((c) => c.detail), [], 'never marked down')
      t.same(be.rejected, [], 'the backend rejected nothing')
      if (kind !== 'tcp' || version !== 'none') {
        await until('the backend parsed the probes', () => be.passed.length >= 2, { deadlineMs: 3000 })
        t.same([...new Set(be.passed)], [EXPECTED_HEADER[version]], `each probe sent ${EXPECTED_HEADER[version]}`)
      }
      t.same(seen[0], { connectMs: 2000 }, 'the checker hands the data-path settings to the probe')

      // The fixture is strict: the same probe in another version is refused.
      const other: SendProxy = version === 'v1' ? 'v2' : 'v1'
      const before = be.rejected.length
      const r = await real(backendCfg(be.port, { sendProxy: other }), health(kind))
      await until(`a ${other} probe is refused: ${be.rejected.at(-1)}`, () => be.rejected.length > before, { deadlineMs: 3000 })
      if (kind !== 'tcp') t.equal(r.ok, false, `${other} probe fails (${r.detail})`)
    })
  }
}

t.test('the connect phase is bounded by the data path connect timeout, not only the check timeout', async (t) => {
  const hole = await startBlackhole()
  t.teardown(() => hole.close())
  const h = healthCfg({ type: 'tcp', timeoutMs: 6000 })
  const probe = probeFor('tcp')!
  const r = await probe(backendCfg(hole.port), h, undefined, { connectMs: 150 })
  t.equal(r.detail, 'L4TOUT', 'connect timed out')
  // 150 ms connect timeout vs a 6 s check timeout: anything under 3 s (20x slack) shows which one fired.
  t.ok(r.durationMs < 3000, `resolved after ${Math.round(r.durationMs)} ms, by timeouts.connect`)
  const longer = await probe(backendCfg(hole.port), healthCfg({ type: 'tcp', timeoutMs: 200 }), undefined, { connectMs: 5000 })
  t.equal(longer.detail, 'L4TOUT', 'the check timeout still bounds the probe when it is the shorter one')
})

t.test('l4lb run: send-proxy v1 + http check to a v1-only backend: up, and clients are served', async (t) => {
  const be = await startProxyOnlyBackend('v1')
  t.teardown(() => be.close())
  const c = await startCluster({
    workers: 1,
    backends: [{ name: 'pp', port: be.port } as FixtureBackend],
    pool: { 'send-proxy': 'v1', health: { type: 'http', interval: '100ms', 'fast-interval': '50ms', timeout: '500ms', fall: 1, rise: 2, jitter: 0 } },
  })
  t.teardown(() => c.stop())
  const backend = async () => (await c.status()).pools[0].backends[0]
  await until('the primary marks the backend up', async () => (await backend()).health === 'up', { deadlineMs: 5000, intervalMs: 25 })
  const served = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ port: c.port, host: '127.0.0.1' }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    let got = ''
    s.setEncoding('latin1')
    s.on('data', (d: string) => (got += d))
    s.on('error', reject)
    s.on('close', () => resolve(got))
  })
  t.match(served, /^HTTP\/1\.1 200 /, 'a client is served through the v1 data path')
  t.ok(be.passed.some((h) => h.startsWith('PROXY TCP4 127.0.0.1 ')), 'the data path sent a v1 TCP4 line')
  t.same(be.rejected, [], 'the backend rejected nothing, probes included')
  t.match((await backend()).check.result, { ok: true, detail: 'L7OK 200' })
})

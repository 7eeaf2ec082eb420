// HealthChecker with its real probes against fixture backends on 127.0.0.1:
// a killed backend goes down after `fall` failed probes and returns after
// `rise` good ones; http and CONNECT verdicts; stop() closes in-flight probes.
// Timing bounds are asserted on a fake clock in checker.test.ts; here we assert
// behaviour and poll with deadlines.
import t, { type Test } from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import { probeFor } from '../../src/health/probes/registry.ts'
import type { HealthChange, ProbeFn, ProbeResult } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { startBackend, type BackendMode, type FixtureBackend } from '../fixtures/backend.ts'
import { backendCfg, healthCfg, poolCfg } from './config.ts'
import { until } from '../helpers/until.ts'

setLogLevel('silent')

/** The registry's real probe, recording each result per backend id. */
function recording() {
  const results = new Map<string, ProbeResult[]>()
  const probe: ProbeFn = async (backend, health, signal) => {
    const real = probeFor(health.type)
    if (!real) throw new Error('no probe')
    const r = await real(backend, health, signal)
    results.set(backend.id, [...(results.get(backend.id) ?? []), r])
    return r
  }
  return { probe, results }
}

async function fixtures(t: Test, n: number, mode: BackendMode): Promise<FixtureBackend[]> {
  const out: FixtureBackend[] = []
  for (let i = 0; i < n; i++) out.push(await startBackend(`be${i}`, mode))
  t.teardown(async () => {
    for (const be of out) await be.close()
  })
  return out
}

function verdictOf(checker: HealthChecker, id: string): string | undefined {
  return checker.table().find((r) => r.id === id)?.verdict
}

t.test('tcp: killed backend goes down after fall failures, returns after rise successes', async (t) => {
  const bes = await fixtures(t, 3, 'name')
  const backends = bes.map((be) => backendCfg(be.port))
  const h = healthCfg({ type: 'tcp', intervalMs: 60, fastIntervalMs: 30, timeoutMs: 200, fall: 2, rise: 3, jitter: 0.1 })
  const { probe, results } = recording()
  const changes: HealthChange[] = []
  const checker = new HealthChecker({ pools: [poolCfg('p', backends, h)], onChange: (c) => changes.push(c), probe })
  t.teardown(() => checker.stop())
  checker.start()
  await until('all up', () => backends.every((b) => verdictOf(checker, b.id) === 'up'))

  const victim = backends[1].id
  await bes[1].refuse()
  await until('killed backend marked down', () => verdictOf(checker, victim) === 'down')
  const down = changes.filter((c) => c.kind === 'down')
  t.same(
    down.map((c) => [c.id, c.from, c.detail]),
    [[victim, 'up', 'L4CON ECONNREFUSED']],
  )
  const seq = results.get(victim) ?? []
  t.same(
    seq.slice(-2).map((r) => r.detail),
    ['L4CON ECONNREFUSED', 'L4CON ECONNREFUSED'],
    'the last fall=2 probes failed',
  )
  t.ok(seq.slice(0, -2).every((r) => r.ok), 'no earlier failure streak')
  t.equal(verdictOf(checker, backends[0].id), 'up')
  t.equal(verdictOf(checker, backends[2].id), 'up')

  const failedSoFar = seq.length
  await bes[1].restore()
  await until('restored backend back up', () => verdictOf(checker, victim) === 'up')
  const after = (results.get(victim) ?? []).slice(failedSoFar)
  t.ok(after.length >= 3, `${after.length} probes since the restore`)
  t.same(
    after.slice(-3).map((r) => r.detail),
    ['L4OK', 'L4OK', 'L4OK'],
    'up after rise=3 good probes',
  )
  const up = changes.filter((c) => c.kind === 'up' && c.from === 'down')
  t.same(
    up.map((c) => c.id),
    [victim],
  )
  const row = checker.table().find((r) => r.id === victim)
  t.equal(row?.slowstartSince, up[0].at)
  // Stop aborts the probes in flight; once they return, every probe sent has a result.
  checker.stop()
  const recorded = (): number => [...results.values()].reduce((n, rs) => n + rs.length, 0)
  await until('every probe sent returns after stop()', () => recorded() === checker.probesSent)
  t.equal(checker.probesSent, recorded(), `probesSent counts every probe, once (${recorded()})`)
})

t.test('http and CONNECT checks follow the backend status', async (t) => {
  const [web] = await fixtures(t, 1, 'http')
  const [proxy] = await fixtures(t, 1, 'connect')
  const fast = { intervalMs: 50, fastIntervalMs: 25, timeoutMs: 300, fall: 2, rise: 2, jitter: 0 }
  const pools = [
    poolCfg('web', [backendCfg(web.port)], healthCfg({ ...fast, type: 'http' })),
    poolCfg(
      'fwd',
      [backendCfg(proxy.port, { sendProxy: 'none' })],
      healthCfg({ ...fast, type: 'connect', connectTarget: { host: 'upstream.test', port: 443 } }),
    ),
  ]
  const changes: HealthChange[] = []
  const checker = new HealthChecker({ pools, onChange: (c) => changes.push(c) })
  t.teardown(() => checker.stop())
  checker.start()
  const webId = backendCfg(web.port).id
  const proxyId = backendCfg(proxy.port).id
  await until('both up', () => verdictOf(checker, webId) === 'up' && verdictOf(checker, proxyId) === 'up')

  web.httpStatus = 503
  proxy.connectStatus = 502
  await until('both down', () => verdictOf(checker, webId) === 'down' && verdictOf(checker, proxyId) === 'down')
  t.match(changes.find((c) => c.id === webId && c.kind === 'down'), { detail: 'L7STS 503' })
  t.match(changes.find((c) => c.id === proxyId && c.kind === 'down'), { detail: 'CONNECT 502' })

  web.httpStatus = 204
  proxy.connectStatus = 200
  await until('both back', () => verdictOf(checker, webId) === 'up' && verdictOf(checker, proxyId) === 'up')
  t.match(checker.table().find((r) => r.id === webId)?.check.result, { ok: true, detail: 'L7OK 204' })
  t.match(checker.table().find((r) => r.id === proxyId)?.check.result, { ok: true, detail: 'CONNECT 200' })
})

t.test('stop() aborts in-flight probes: the backend sees its connection close', async (t) => {
  const [stall] = await fixtures(t, 1, 'stall')
  const h = healthCfg({ type: 'http', intervalMs: 50, timeoutMs: 60_000 })
  const checker = new HealthChecker({ pools: [poolCfg('p', [backendCfg(stall.port)], h)], onChange: () => {} })
  checker.start()
  await until('probe connected and waiting', () => stall.sockets.size === 1)
  checker.stop()
  const closed = () => [...stall.sockets].every((s) => s.readableEnded || s.destroyed)
  await until('probe socket closed by stop() (the backend saw our FIN)', closed)
  const sent = checker.probesSent
  t.equal(stall.accepted, sent, 'one connection per probe')
  t.equal(checker.table()[0].check.result, null, 'aborted result dropped')
})

// The fleet without its store: when etcd stops, every node keeps serving its
// config and falls back to probing for itself within the stale bound (a
// backend killed during the outage is still taken out); when etcd is back the
// nodes follow the leader again without a flap. A node restarted while etcd
// is down starts from its last-known-good file and says so.
import t from 'tap'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { push, sharedYaml, startNode, type FleetNodeProc } from '../helpers/fleet.ts'
import { whoServes } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

t.setTimeout(120_000)

let etcd: TestEtcd
const backends: FixtureBackend[] = []
const nodes: FleetNodeProc[] = []
const dir = mkdtempSync(join(tmpdir(), 'l4lb-outage-'))
t.teardown(async () => {
  for (const n of nodes) await n.stop('SIGKILL')
  for (const b of backends) await b.close()
  await etcd?.destroy()
  rmSync(dir, { recursive: true, force: true })
})

t.before(async () => {
  etcd = await startEtcd()
  for (const name of ['b1', 'b2']) backends.push(await startBackend(name))
  const r = await push(etcd, sharedYaml(backends))
  if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`)
  for (const name of ['n1', 'n2']) nodes.push(await startNode({ etcd, name, dir }))
  await until('a leader and a follower', async () => {
    const roles = (await Promise.all(nodes.map((n) => n.fleet()))).map((f) => f.role).sort()
    return roles.join() === 'follower,leader'
  }, { deadlineMs: 10_000, intervalMs: 50 })
})

t.test('etcd stops: every node serves on and probes for itself; a dead backend is still taken out; etcd back: followers again, no flap', async (t) => {
  const follower = (await Promise.all(nodes.map(async (n) => [n, await n.fleet()] as const))).find(([, f]) => f.role === 'follower')![0]
  const t0 = Date.now()
  await etcd.stop(true)
  const fb = await until('the follower falls back to local probing', async () => {
    const f = await follower.fleet()
    return f.role === 'standalone' && f
  }, { deadlineMs: 5000, intervalMs: 10 })
  const fallbackMs = Date.now() - t0
  t.comment(`etcd SIGKILLed -> follower probes for itself: ${fallbackMs} ms (stale-after 600 ms); reason: ${fb.fallback}`)
  // stale-after, plus one staleness check (75 ms), plus slack for a loaded 2-core machine
  t.ok(fallbackMs <= 600 + 75 + 500, `within the stale bound plus one check period (${fallbackMs} ms)`)
  t.ok(fb.fallbacksTotal >= 1, 'counted')
  for (const n of nodes) t.match(await whoServes(n.port, '127.0.0.1', 2000), /^b[12]$/, `${n.name} serves without its store`)

  const k0 = Date.now()
  await backends[1].close()
  for (const n of nodes) {
    await until(`${n.name} takes b2 out by its own probes`, async () => (await n.status()).pools[0].backends.find((b) => b.id === 'b2')?.state === 'down', { deadlineMs: 5000, intervalMs: 10 })
  }
  t.comment(`backend killed during the outage -> out on every node: ${Date.now() - k0} ms (interval 100 ms, fall 2)`)
  for (let i = 0; i < 10; i++) for (const n of nodes) t.equal(await whoServes(n.port, '127.0.0.1', 2000), 'b1')

  const r0 = Date.now()
  await etcd.start()
  const r1 = Date.now()
  await until('the follower follows again', async () => (await follower.fleet()).role === 'follower', { deadlineMs: 20_000, intervalMs: 20 })
  t.comment(`etcd answers again (its start took ${r1 - r0} ms) -> follower follows again: ${Date.now() - r1} ms`)
  await holdFor(1000)
  // Lines logged since etcd was stopped (by their own time: the pipe may deliver older lines late).
  const lines = follower.output().split('\n').filter((l) => l.includes('backend health changed') && Date.parse((JSON.parse(l) as { time: string }).time) >= t0)
  const changes = lines.map((l) => JSON.parse(l) as { backend: string; to: string; from: string; detail: string })
  t.same(changes.map((c) => `${c.backend}:${c.to}`), ['b2:down'], `one change in all: b2 down (no flap on the way back): ${JSON.stringify(changes)}`)
  for (const n of nodes) t.same((await n.status()).pools[0].backends.map((b) => b.state), ['ready', 'down'], `${n.name}: b1 ready, b2 down`)
})

t.test('a node restarted while etcd is down starts from its last-known-good file and says so', async (t) => {
  const n1 = nodes[0]
  const applied = (await n1.fleet()).config.appliedRevision
  await n1.stop()
  await etcd.stop(true)
  const again = await startNode({ etcd, name: 'n1', dir })
  nodes.push(again)
  const f = await again.fleet()
  t.equal(f.config.source, 'last-known-good')
  t.equal(f.config.appliedRevision, applied, 'the revision it had applied')
  t.match(f.store.atStart, /fleet store unreachable/)
  t.equal(f.role, 'standalone', 'probes for itself')
  t.equal(await whoServes(again.port, '127.0.0.1', 2000), 'b1', 'serves')
  const e0 = Date.now()
  await etcd.start()
  const back = await until('the store is the source again, and n1 follows or leads', async () => {
    const f2 = await again.fleet()
    return f2.config.source === 'store' && f2.role !== 'standalone' && f2
  }, { deadlineMs: 15_000, intervalMs: 20 })
  t.equal(back.config.appliedRevision, applied, 'same revision, no reload needed')
  t.comment(`etcd back -> the last-known-good node reads the store again and ${back.role === 'leader' ? 'leads' : 'follows'}: ${Date.now() - e0} ms (includes etcd's start)`)
  await etcd.stop(true)
  const bad = await startNode({ etcd, name: 'n9', waitUp: false })
  nodes.push(bad)
  await until('a node with no last-known-good file exits', () => bad.exitCode() !== undefined, { deadlineMs: 15_000, intervalMs: 50 })
  t.equal(bad.exitCode(), 1)
  t.match(bad.output(), /fleet store unreachable[^]*no last-known-good fleet config/)
})

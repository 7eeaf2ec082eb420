// Partitions between one node and the store, made with a TCP forwarder the
// test cuts (test/helpers/tcp-cut.ts): n1 reaches etcd only through it, n2
// and n3 directly. First n1 leads and is cut off: another node leads after
// the lease TTL, n1 cannot write and probes alone, then follows when the cut
// heals. Then n1 is a follower and is cut off: it probes alone within the
// stale bound, drops out of `l4lb fleet status`, still takes a dead backend
// out, and follows again when the cut heals; the other nodes notice nothing.
import t from 'tap'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { fleetCli, healthChangesSince, push, sharedYaml, startNode, type FleetNodeProc } from '../helpers/fleet.ts'
import { whoServes } from '../helpers/lb.ts'
import { tcpCut, type TcpCut } from '../helpers/tcp-cut.ts'
import { until } from '../helpers/until.ts'

t.setTimeout(120_000)

let etcd: TestEtcd
let pipe: TcpCut
const backends: FixtureBackend[] = []
const nodes: FleetNodeProc[] = []
t.teardown(async () => {
  for (const n of nodes) await n.stop('SIGKILL')
  for (const b of backends) await b.close()
  await pipe?.close()
  await etcd?.destroy()
})

const listed = async (): Promise<string[]> => {
  const r = await fleetCli(['status', '--json', '--endpoints', etcd.endpoint, '--prefix', '/test'])
  return (JSON.parse(r.stdout) as { nodes: { node: string }[] }).nodes.map((n) => n.node)
}

t.before(async () => {
  etcd = await startEtcd()
  pipe = await tcpCut(Number(new URL(etcd.endpoint).port))
  for (const name of ['b1', 'b2']) backends.push(await startBackend(name))
  const r = await push(etcd, sharedYaml(backends))
  if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`)
  nodes.push(await startNode({ etcd, name: 'n1', fleet: { endpoints: [`http://127.0.0.1:${pipe.port}`] } }))
  await until('n1 leads', async () => (await nodes[0].fleet()).role === 'leader', { deadlineMs: 10_000, intervalMs: 20 })
  for (const name of ['n2', 'n3']) nodes.push(await startNode({ etcd, name }))
  await until('n2 and n3 follow n1', async () => (await Promise.all(nodes.slice(1).map((n) => n.fleet()))).every((f) => f.role === 'follower' && f.leader?.node === 'n1'), { deadlineMs: 10_000, intervalMs: 20 })
})

t.test('the leader is cut off from the store: another node leads, the cut-off one cannot write, then follows', async (t) => {
  const [n1, n2, n3] = nodes
  const term = (await n1.fleet()).leader?.term ?? 0
  const t0 = Date.now()
  await pipe.cut()
  const next = await until('n2 or n3 leads with a newer term', async () => {
    for (const n of [n2, n3]) {
      const f = await n.fleet()
      if (f.role === 'leader' && (f.leader?.term ?? 0) > term) return n
    }
    return null
  }, { deadlineMs: 10_000, intervalMs: 20 })
  t.comment(`leader n1 cut off from etcd -> ${next.name} leads: ${Date.now() - t0} ms (lease TTL 2 s)`)
  const f1 = await until('n1 probes alone', async () => {
    const f = await n1.fleet()
    return f.role === 'standalone' && f
  }, { deadlineMs: 10_000, intervalMs: 20 })
  t.match(f1.fallback, /leadership lost|fenced|newer leader/, `n1 says why: ${f1.fallback}`)
  const stored = JSON.parse((await etcd.client().get('/test/health').string()) ?? '{}') as { leader: string }
  t.equal(stored.leader, next.name, 'the store holds the new leader\'s results')
  t.equal(await whoServes(n1.port, '127.0.0.1', 2000).then((b) => /^b[12]$/.test(b)), true, 'n1 serves on')
  const h0 = Date.now()
  await pipe.restore()
  await until('n1 follows the new leader', async () => {
    const f = await n1.fleet()
    return f.role === 'follower' && f.leader?.node === next.name
  }, { deadlineMs: 15_000, intervalMs: 20 })
  t.comment(`cut healed -> n1 follows ${next.name}: ${Date.now() - h0} ms`)
  for (const n of nodes) t.same(healthChangesSince(n, t0), [], `${n.name}: no backend changed state`)
})

t.test('a follower is cut off from the store: it probes alone, drops out of fleet status, still takes a dead backend out; the others notice nothing', async (t) => {
  const [n1, n2, n3] = nodes
  const before = await Promise.all([n2, n3].map((n) => n.fleet()))
  const t0 = Date.now()
  await pipe.cut()
  const f1 = await until('n1 probes alone', async () => {
    const f = await n1.fleet()
    return f.role === 'standalone' && f
  }, { deadlineMs: 5000, intervalMs: 10 })
  t.comment(`follower n1 cut off -> probes alone: ${Date.now() - t0} ms (stale-after 600 ms); reason: ${f1.fallback}`)
  await until('n1 drops out of fleet status', async () => !(await listed()).includes('n1'), { deadlineMs: 10_000, intervalMs: 200 })
  t.comment(`follower n1 cut off -> gone from fleet status: ${Date.now() - t0} ms (its record's lease: 2 s)`)
  const k0 = Date.now()
  await backends[1].refuse()
  await until('every node takes b2 out', async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.pools[0].backends[1].state === 'down'), { deadlineMs: 5000, intervalMs: 10 })
  t.comment(`b2 refused during the cut -> down on every node (n1 by its own probes): ${Date.now() - k0} ms`)
  await backends[1].restore()
  await until('every node takes b2 back', async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.pools[0].backends[1].state === 'ready'), { deadlineMs: 5000, intervalMs: 10 })
  const after = await Promise.all([n2, n3].map((n) => n.fleet()))
  t.same(after.map((f) => [f.role, f.leader?.term, f.fallbacksTotal]), before.map((f) => [f.role, f.leader?.term, f.fallbacksTotal]), 'n2 and n3: same roles, same term, no fallback')
  const h0 = Date.now()
  await pipe.restore()
  await until('n1 follows again and is listed', async () => (await n1.fleet()).role === 'follower' && (await listed()).includes('n1'), { deadlineMs: 15_000, intervalMs: 50 })
  t.comment(`cut healed -> n1 follows and is listed again: ${Date.now() - h0} ms`)
})

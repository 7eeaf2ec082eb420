// A fleet of three real l4lb primaries on loopback around one real etcd
// (Debian's etcd-server): one health leader probes for all, config pushed to
// the store reaches every node through the reload path, a bad value is
// refused by every node with the old one still serving, a push conflicts on a
// stale revision, and killing the leader hands leadership over with no
// backend changing state. Figures measured here are printed (docs/fleet.md).
import t from 'tap'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { healthChangesSince, l4lbCli, push, sharedYaml, startNode, fleetCli, type FleetNodeProc } from '../helpers/fleet.ts'
import { whoServes } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

t.setTimeout(120_000)

let etcd: TestEtcd
const backends: FixtureBackend[] = []
const nodes: FleetNodeProc[] = []
t.teardown(async () => {
  for (const n of nodes) await n.stop('SIGKILL')
  for (const b of backends) await b.close()
  await etcd?.destroy()
})

const up = (): FleetNodeProc[] => nodes.filter((n) => n.exitCode() === undefined)
const roles = async (): Promise<string[]> => Promise.all(up().map(async (n) => `${n.name}:${(await n.fleet()).role}`))

t.before(async () => {
  etcd = await startEtcd()
  for (const name of ['b1', 'b2', 'b3']) backends.push(await startBackend(name))
  const r = await push(etcd, sharedYaml(backends.slice(0, 2)))
  if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`)
  for (const name of ['n1', 'n2', 'n3']) nodes.push(await startNode({ etcd, name }))
})

t.test('one health leader: the others follow its term and do not probe', async (t) => {
  const settled = await until('one leader and two followers of its term', async () => {
    const fs = await Promise.all(nodes.map((n) => n.fleet()))
    const leaders = fs.filter((f) => f.role === 'leader')
    return leaders.length === 1 && fs.every((f) => f.leader?.node === leaders[0].node && f.leader.term === leaders[0].leader?.term) && fs
  }, { deadlineMs: 10_000, intervalMs: 50 })
  t.same(settled.map((f) => f.role).sort(), ['follower', 'follower', 'leader'])
  // Probes counted at the backends over 2 s: every 100 ms, two backends = ~40 for one prober (120 for three).
  const before = backends[0].accepted + backends[1].accepted
  await holdFor(2000)
  const probes = backends[0].accepted + backends[1].accepted - before
  t.comment(`probes at the backends in 2 s, 3 nodes: ${probes} (one prober: ~40)`)
  t.ok(probes >= 20 && probes <= 60, `one node probes (${probes} in 2 s, not ~120)`)
  for (const n of nodes) {
    const s = await n.status()
    t.same(s.pools[0].backends.map((b) => [b.id, b.state]), [['b1', 'ready'], ['b2', 'ready']], `${n.name} adopts the verdicts`)
  }
})

t.test('fleet status lists every node, the revision each applied and the leader', async (t) => {
  const r = await fleetCli(['status', '--json', '--endpoints', etcd.endpoint, '--prefix', '/test'])
  t.equal(r.code, 0, r.stderr)
  const doc = JSON.parse(r.stdout) as { configRevision: number; leader: { node: string } | null; nodes: { node: string; appliedRevision: number; lag: number }[] }
  t.same(doc.nodes.map((n) => [n.node, n.appliedRevision, n.lag]), nodes.map((n) => [n.name, doc.configRevision, 0]))
  t.ok(doc.leader !== null && nodes.some((n) => n.name === doc.leader?.node), 'the leader is one of the nodes')
  const text = await fleetCli(['status', '--endpoints', etcd.endpoint, '--prefix', '/test'])
  t.match(text.stdout, new RegExp(`^health leader: ${doc.leader?.node} \\(term \\d+`, 'm'))
  t.match(text.stdout, /^NODE +ROLE +APPLIED +LAG +HEALTH AGE +FALLBACKS +NOTE$/m)
  const follower = nodes.find((n) => n.name !== doc.leader?.node)!
  const st = await l4lbCli(['status', '--admin', `127.0.0.1:${follower.adminPort}`])
  t.match(st.stdout, new RegExp(`^fleet node ${follower.name}: FOLLOWER, leader ${doc.leader?.node} \\(term \\d+\\), config revision ${doc.configRevision}$`, 'm'), 'l4lb status says it too')
})

t.test('a pushed backend set reaches every node; a bad one is refused by all, the old set still serving', async (t) => {
  // Timed from the store write (the push CLI's own start-up is not the fleet's latency).
  const client = etcd.client()
  const t0 = Date.now()
  const w = await client.put('/test/config').value(sharedYaml([backends[2]])).exec()
  const rev = Number(w.header.revision)
  const times = await Promise.all(nodes.map(async (n) => {
    await until(`${n.name} serves b3 only`, async () => (await whoServes(n.port, '127.0.0.1', 1000)) === 'b3' && (await n.fleet()).config.appliedRevision === rev, { deadlineMs: 10_000, intervalMs: 10 })
    return Date.now() - t0
  }))
  t.comment(`config written to the store -> served by every node: ${Math.max(...times)} ms (per node ${times.join(', ')} ms)`)
  t.ok(Math.max(...times) < 1000, 'within 1 s (watch, not the 500 ms poll alone)')

  // Not YAML, a node-local key, a listener's pool gone: each refused by every node with key and revision.
  for (const [what, text] of [['not YAML', 'pools: [\n'], ['a node-local key', `${sharedYaml([backends[0]])}workers: 2\n`], ['an unknown pool', sharedYaml([backends[0]], { name: 'other' })]] as const) {
    // With a node's file, push also checks the listeners' pools.
    const p = await push(etcd, text, '/test', ['--node-config', nodes[0].configPath])
    t.equal(p.code, 1, `${what}: push validates first and refuses`)
    t.match(p.stderr, /invalid, not pushed/)
  }
  // Written past the CLI, straight into the store: every node must refuse it.
  const bad = await client.put('/test/config').value(sharedYaml([backends[0]], { name: 'other' })).exec()
  const badRev = Number(bad.header.revision)
  for (const n of nodes) {
    const f = await until(`${n.name} refuses revision ${badRev}`, async () => {
      const s = await n.fleet()
      return s.config.lastRejected?.revision === badRev && s
    }, { deadlineMs: 10_000, intervalMs: 20 })
    t.match(f.config.lastRejected?.errors.join('\n'), new RegExp(`fleet store /test/config at revision ${badRev}: listeners\\[0\\]\\.pool: no pool named "web"`), `${n.name}: key, revision and path in the error`)
    t.equal(f.config.appliedRevision, rev, `${n.name} keeps revision ${rev}`)
    t.equal(await whoServes(n.port, '127.0.0.1', 1000), 'b3', `${n.name} still serves the old set`)
    const metrics = await (await fetch(`http://127.0.0.1:${n.adminPort}/metrics`)).text()
    t.match(metrics, /^l4lb_fleet_config_rejected 1$/m, `${n.name}: the metric says so`)
    t.match(metrics, new RegExp(`^l4lb_fleet_config_revision ${rev}$`, 'm'))
  }
  const garbage = await client.put('/test/config').value('pools: [\n  - {').exec()
  for (const n of nodes) {
    await until(`${n.name} refuses the non-YAML revision`, async () => (await n.fleet()).config.lastRejected?.revision === Number(garbage.header.revision), { deadlineMs: 10_000, intervalMs: 20 })
    t.equal(await whoServes(n.port, '127.0.0.1', 1000), 'b3', `${n.name} survives a value that is not YAML`)
  }
  // Back to a good set for the next tests.
  const back = await push(etcd, sharedYaml(backends.slice(0, 2)))
  t.equal(back.code, 0, back.stderr)
  for (const n of nodes) await until(`${n.name} back on b1+b2`, async () => (await n.fleet()).config.lastRejected === null, { deadlineMs: 10_000, intervalMs: 20 })
})

t.test('push is a compare-and-swap on the revision read', async (t) => {
  const client = etcd.client()
  const before = await client.get('/test/config').exec()
  const rev = Number(before.kvs[0].mod_revision)
  const stale = await push(etcd, sharedYaml([backends[2]]), '/test', ['--expect-revision', String(rev - 1)])
  t.equal(stale.code, 3, 'exit 3 on conflict')
  t.match(stale.stderr, new RegExp(`conflict: /test/config is at revision ${rev}, not ${rev - 1}`))
  const after = await client.get('/test/config').exec()
  t.equal(Number(after.kvs[0].mod_revision), rev, 'nothing written')
  const fresh = await push(etcd, after.kvs[0].value.toString(), '/test', ['--expect-revision', String(rev)])
  t.equal(fresh.code, 0, 'the same push at the current revision is stored')
})

t.test('a backend dies: every node takes it out at nearly the same moment (one decision, watched)', async (t) => {
  const victim = backends[1]
  const t0 = Date.now()
  await victim.refuse()
  const at = await Promise.all(nodes.map(async (n) => {
    await until(`${n.name} marks b2 down`, async () => (await n.status()).pools[0].backends.find((b) => b.id === 'b2')?.state === 'down', { deadlineMs: 5000, intervalMs: 5 })
    return Date.now() - t0
  }))
  const spread = Math.max(...at) - Math.min(...at)
  t.comment(`b2 killed -> down on each node after ${at.join(', ')} ms: spread ${spread} ms (status polled every 5 ms per node)`)
  t.ok(spread < 250, `the nodes agree within ${spread} ms`)
  for (const n of nodes) t.equal(await whoServes(n.port, '127.0.0.1', 1000), 'b1', `${n.name} sends to b1 only`)
  await victim.restore()
  for (const n of nodes) await until(`${n.name} takes b2 back`, async () => (await n.status()).pools[0].backends.every((b) => b.state === 'ready'), { deadlineMs: 5000, intervalMs: 10 })
})

t.test('a result from an older term is ignored by every node (fencing)', async (t) => {
  const fs = await Promise.all(nodes.map((n) => n.fleet()))
  const term = fs.find((f) => f.role === 'leader')?.leader?.term ?? 0
  const fenced = fs.map((f) => f.fencedTotal)
  const client = etcd.client()
  const current = JSON.parse((await client.get('/test/health').string()) ?? '{}') as { backends: Record<string, { verdict: string }> }
  const t0 = Date.now()
  const forged = { ...current, leader: 'a-paused-leader', term: term - 1, seq: 1e9, backends: Object.fromEntries(Object.entries(current.backends).map(([k, b]) => [k, { ...b, verdict: 'down' }])) }
  await client.put('/test/health').value(JSON.stringify(forged)).exec()
  for (const [i, n] of nodes.entries()) {
    await until(`${n.name} counts the older-term result as fenced`, async () => (await n.fleet()).fencedTotal > fenced[i], { deadlineMs: 5000, intervalMs: 10 })
  }
  await holdFor(300)
  for (const n of nodes) {
    t.same((await n.status()).pools[0].backends.map((b) => b.state), ['ready', 'ready'], `${n.name}: "down" from term ${term - 1} ignored`)
    t.same(healthChangesSince(n, t0), [], `${n.name}: no change`)
  }
  t.match(await (await fetch(`http://127.0.0.1:${nodes[0].adminPort}/metrics`)).text(), /^l4lb_fleet_fenced_results_total [1-9]/m)
})

t.test('a leader paused past its lease cannot overwrite its successor, and follows it when it wakes', async (t) => {
  const fs = await Promise.all(nodes.map(async (n) => [n, await n.fleet()] as const))
  const [paused, pf] = fs.find(([, f]) => f.role === 'leader')!
  const others = nodes.filter((n) => n !== paused)
  const t0 = Date.now()
  paused.child.kill('SIGSTOP')
  try {
    const next = await until('another node leads with a newer term', async () => {
      for (const n of others) {
        const f = await n.fleet()
        if (f.role === 'leader' && (f.leader?.term ?? 0) > (pf.leader?.term ?? 0)) return [n, f] as const
      }
      return null
    }, { deadlineMs: 10_000, intervalMs: 20 })
    t.comment(`leader ${paused.name} SIGSTOPped -> ${next[0].name} leads: ${Date.now() - t0} ms`)
    paused.child.kill('SIGCONT')
    const woke = await until(`${paused.name} follows ${next[0].name}`, async () => {
      const f = await paused.fleet()
      return f.role === 'follower' && f.leader?.node === next[0].name && f
    }, { deadlineMs: 10_000, intervalMs: 20 })
    t.equal(woke.leader?.term, next[1].leader?.term)
    const stored = JSON.parse((await etcd.client().get('/test/health').string()) ?? '{}') as { term: number; leader: string }
    t.same([stored.leader, stored.term], [next[0].name, next[1].leader?.term], 'the store holds the successor\'s results')
    await holdFor(500)
    for (const n of nodes) {
      t.same(healthChangesSince(n, t0), [], `${n.name}: no backend changed state`)
      t.same((await n.status()).pools[0].backends.map((b) => b.state), ['ready', 'ready'])
    }
  } finally {
    paused.child.kill('SIGCONT')
  }
})

t.test('SIGKILL of the leader: another node takes over within the lease TTL, no backend changes state', async (t) => {
  const fs = await Promise.all(nodes.map(async (n) => [n, await n.fleet()] as const))
  const [leader, lf] = fs.find(([, f]) => f.role === 'leader')!
  const followers = fs.filter(([n]) => n !== leader).map(([n]) => n)
  const t0 = Date.now()
  leader.child.kill('SIGKILL')
  const next = await until('a follower becomes leader with a newer term', async () => {
    for (const n of followers) {
      const f = await n.fleet()
      if (f.role === 'leader' && (f.leader?.term ?? 0) > (lf.leader?.term ?? 0)) return n
    }
    return null
  }, { deadlineMs: 10_000, intervalMs: 20 })
  const took = Date.now() - t0
  t.comment(`leader ${leader.name} SIGKILLed -> ${next.name} leads: ${took} ms (lease TTL 2 s)`)
  t.ok(took < 2000 + 1500, `takeover within the lease TTL plus slack (${took} ms)`)
  await until('the other follower takes the new term', async () => {
    const fs2 = await Promise.all(followers.map((n) => n.fleet()))
    return fs2.every((f) => f.leader?.node === next.name)
  }, { deadlineMs: 5000, intervalMs: 20 })
  await holdFor(1000) // the new leader's probes run: they must agree with the old verdicts
  for (const n of followers) t.same(healthChangesSince(n, t0), [], `${n.name}: no backend changed state`)
  for (const n of followers) t.same((await n.status()).pools[0].backends.map((b) => b.state), ['ready', 'ready'])
  const r = await roles()
  t.equal(r.filter((x) => x.endsWith(':leader')).length, 1, `one leader: ${r.join(' ')}`)
})

t.test('SIGTERM of the leader: it resigns, the next node leads at once', async (t) => {
  const alive = up()
  const fs = await Promise.all(alive.map(async (n) => [n, await n.fleet()] as const))
  const [leader] = fs.find(([, f]) => f.role === 'leader')!
  const other = alive.find((n) => n !== leader)!
  const t0 = Date.now()
  const stopping = leader.stop('SIGTERM')
  await until(`${other.name} leads`, async () => (await other.fleet()).role === 'leader', { deadlineMs: 5000, intervalMs: 10 })
  const took = Date.now() - t0
  t.comment(`leader ${leader.name} SIGTERMed (resigns) -> ${other.name} leads: ${took} ms`)
  t.ok(took < 2000, `faster than the lease TTL (${took} ms)`)
  t.equal(await stopping, 0, 'the old leader exits 0')
})

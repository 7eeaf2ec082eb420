// Agent checks in a fleet: three real l4lb primaries around one real etcd,
// two backends each with a fixture agent (test/fixtures/agent.ts). Only the
// health leader polls the agents (connections counted at the agents); an
// agent's `drain` reaches every node through the health document; SIGKILL of
// the leader hands the polls to the new leader with no agent-driven change on
// any node; with the store down every node polls for itself (and applies what
// its agents say), and with the store back one node polls again, no flap.
// Figures measured here are printed (docs/fleet.md).
import t from 'tap'
import { startAgent, type FixtureAgent } from '../fixtures/agent.ts'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { healthChangesSince, push, sharedYaml, startNode, type FleetNodeProc } from '../helpers/fleet.ts'
import { whoServes } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

t.setTimeout(150_000)

let etcd: TestEtcd
const backends: FixtureBackend[] = []
const agents: FixtureAgent[] = []
const nodes: FleetNodeProc[] = []
t.teardown(async () => {
  for (const n of nodes) await n.stop('SIGKILL')
  for (const b of backends) await b.close()
  for (const a of agents) await a.close()
  await etcd?.destroy()
})

/** Agents polled every 100 ms (±10 %): one poller makes ~10 connections per agent per second. */
const INTERVAL_MS = 100
const up = (): FleetNodeProc[] => nodes.filter((n) => n.exitCode() === undefined)
const agentPolls = (): number => agents.reduce((n, a) => n + a.polls, 0)
/** Connections at both agents over `ms`. */
async function pollsOver(ms: number): Promise<number> {
  const before = agentPolls()
  await holdFor(ms)
  return agentPolls() - before
}
const backendRow = async (n: FleetNodeProc, id: string) => (await n.status()).pools[0].backends.find((b) => b.id === id)!
/** Who serves 10 client addresses (maglev hashes the client address). */
const servers = async (n: FleetNodeProc): Promise<Set<string>> => {
  const seen = new Set<string>()
  for (let i = 1; i <= 10; i++) seen.add(await whoServes(n.port, `127.0.0.${i}`, 2000))
  return seen
}
async function leaderAndFollowers(among: readonly FleetNodeProc[]): Promise<{ leader: FleetNodeProc; term: number; followers: FleetNodeProc[] }> {
  return until('one leader, the others following its term', async () => {
    const fs = await Promise.all(among.map(async (n) => [n, await n.fleet()] as const))
    const leaders = fs.filter(([, f]) => f.role === 'leader')
    if (leaders.length !== 1) return null
    const [leader, lf] = leaders[0]
    const term = lf.leader?.term ?? 0
    const ok = fs.every(([, f]) => f.leader?.node === leader.name && f.leader.term === term && (f.role === 'leader' || f.role === 'follower'))
    return ok && { leader, term, followers: among.filter((n) => n !== leader) }
  }, { deadlineMs: 15_000, intervalMs: 50 })
}

t.before(async () => {
  etcd = await startEtcd()
  for (const name of ['b1', 'b2']) {
    backends.push(await startBackend(name))
    agents.push(await startAgent('up'))
  }
  const pool = {
    backends: backends.map((b, i) => ({ id: b.name, host: '127.0.0.1', port: b.port, weight: 10, agent: { port: agents[i].port, interval: `${INTERVAL_MS}ms`, timeout: '100ms' } })),
  }
  const r = await push(etcd, sharedYaml(backends, pool))
  if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`)
  for (const name of ['n1', 'n2', 'n3']) nodes.push(await startNode({ etcd, name }))
})

t.test('only the health leader polls the agents; followers show its views, with where they came from', async (t) => {
  const { leader, followers } = await leaderAndFollowers(nodes)
  await holdFor(500) // the followers' first documents are taken
  const followerPolls = await Promise.all(followers.map(async (n) => (await backendRow(n, 'b1')).agent!.polls))
  const polls = await pollsOver(2000)
  t.comment(`connections at the 2 agents in 2 s with 3 nodes: ${polls} (one poller: ~40, three: ~120)`)
  t.ok(polls >= 20 && polls <= 60, `one node polls (${polls} in 2 s, not ~120)`)
  for (const [i, n] of followers.entries()) t.equal((await backendRow(n, 'b1')).agent!.polls, followerPolls[i], `${n.name} (follower) made no poll`)
  for (const n of followers) {
    const views = (await n.status()).pools[0].backends.map((b) => b.agent)
    t.ok(views.every((a) => a?.source === 'leader' && a.leader === leader.name && a.line === 'up'), `${n.name} shows the leader's agent views, marked as such: ${JSON.stringify(views.map((a) => [a?.source, a?.leader]))}`)
  }
  const lb1 = (await backendRow(leader, 'b1')).agent!
  t.match(lb1, { source: 'local', leader: null, line: 'up', admin: 'ready' }, 'the leader shows its own polls')
  t.ok(lb1.polls >= 15, `the leader polls (${lb1.polls} polls of b1's agent)`)
  for (const n of nodes) t.same(await servers(n), new Set(['b1', 'b2']), `${n.name} sends to both backends`)
})

t.test('an agent says drain: every node drains the backend', async (t) => {
  const t0 = Date.now()
  agents[0].line = 'drain'
  const at = await Promise.all(nodes.map(async (n) => {
    await until(`${n.name} drains b1`, async () => (await backendRow(n, 'b1')).state === 'drain', { deadlineMs: 5000, intervalMs: 5 })
    return Date.now() - t0
  }))
  t.comment(`agent of b1 says drain -> b1 drained on each node after ${at.join(', ')} ms (agent interval ${INTERVAL_MS} ms): spread ${Math.max(...at) - Math.min(...at)} ms`)
  t.ok(Math.max(...at) < INTERVAL_MS * 1.1 + 1000, `every node within one interval plus slack (${Math.max(...at)} ms)`)
  for (const n of nodes) {
    const b1 = await backendRow(n, 'b1')
    t.match(b1.agent, { admin: 'drain', line: 'drain' }, `${n.name}: the agent's view`)
    t.same(await servers(n), new Set(['b2']), `${n.name}: no new flow to b1`)
  }
})

t.test('SIGKILL of the leader: the new leader polls, and no backend changes agent state because of the takeover', async (t) => {
  const { leader, term, followers } = await leaderAndFollowers(nodes)
  const polled = await Promise.all(followers.map(async (n) => (await backendRow(n, 'b1')).agent!.polls))
  const t0 = Date.now()
  leader.child.kill('SIGKILL')
  const next = await until('a follower leads with a newer term', async () => {
    for (const n of followers) {
      const f = await n.fleet()
      if (f.role === 'leader' && (f.leader?.term ?? 0) > term) return n
    }
    return null
  }, { deadlineMs: 10_000, intervalMs: 20 })
  const took = Date.now() - t0
  const i = followers.indexOf(next)
  const first = await until(`${next.name} polls the agents itself`, async () => {
    const a = (await backendRow(next, 'b1')).agent!
    return a.source === 'local' && a.polls > polled[i] && Date.now() - t0
  }, { deadlineMs: 5000, intervalMs: 10 })
  const fell = (await Promise.all(followers.map((n) => n.fleet()))).map((f) => f.fallbacksTotal)
  t.comment(`leader ${leader.name} SIGKILLed -> ${next.name} leads after ${took} ms and shows its own agent polls after ${first} ms; fallbacks meanwhile (polling alone while results were stale): ${fell.join(', ')}`)
  const other = followers.find((n) => n !== next)!
  await until(`${other.name} follows ${next.name}`, async () => {
    const f = await other.fleet()
    return f.role === 'follower' && f.leader?.node === next.name
  }, { deadlineMs: 10_000, intervalMs: 20 })
  await holdFor(1000)
  for (const n of followers) {
    t.same(healthChangesSince(n, t0), [], `${n.name}: no backend changed state (agent or check)`)
    t.same((await n.status()).pools[0].backends.map((b) => [b.id, b.state, b.agent?.admin]), [['b1', 'drain', 'drain'], ['b2', 'ready', 'ready']], `${n.name}: b1 still drained`)
  }
  t.match((await backendRow(other, 'b1')).agent, { source: 'leader', leader: next.name }, `${other.name} shows ${next.name}'s views`)
  const polls = await pollsOver(2000)
  t.comment(`connections at the 2 agents in 2 s after the takeover: ${polls}`)
  t.ok(polls >= 20 && polls <= 60, `one node polls again (${polls} in 2 s)`)
})

t.test('store down: every node polls its agents itself and applies them; store back: one poller again, no flap', async (t) => {
  const alive = up()
  t.equal(alive.length, 2)
  const { followers } = await leaderAndFollowers(alive)
  const follower = followers[0]
  const t0 = Date.now()
  await etcd.stop(true)
  await until(`${follower.name} falls back`, async () => (await follower.fleet()).role === 'standalone', { deadlineMs: 5000, intervalMs: 10 })
  await until(`${follower.name} polls its agents itself`, async () => (await backendRow(follower, 'b1')).agent?.source === 'local', { deadlineMs: 5000, intervalMs: 10 })
  const fallbackMs = Date.now() - t0
  const polls = await pollsOver(2000)
  t.comment(`etcd SIGKILLed -> ${follower.name} polls its agents itself after ${fallbackMs} ms; connections at the 2 agents in 2 s with 2 nodes alone: ${polls} (two pollers: ~80)`)
  t.ok(polls >= 55 && polls <= 100, `both nodes poll (${polls} in 2 s)`)
  const k0 = Date.now()
  agents[1].line = 'maint'
  for (const n of alive) await until(`${n.name} puts b2 in maint by its own poll`, async () => (await backendRow(n, 'b2')).state === 'maint', { deadlineMs: 5000, intervalMs: 10 })
  t.comment(`agent of b2 says maint during the outage -> maint on both nodes after ${Date.now() - k0} ms`)

  await etcd.start()
  const r0 = Date.now()
  const settled = await leaderAndFollowers(alive)
  for (const n of settled.followers) {
    await until(`${n.name} adopts the new leader's agent views`, async () => (await backendRow(n, 'b2')).agent?.source === 'leader', { deadlineMs: 10_000, intervalMs: 20 })
  }
  t.comment(`etcd back -> ${settled.leader.name} leads, the other follows and stops polling after ${Date.now() - r0} ms`)
  await holdFor(500)
  const after = await pollsOver(2000)
  t.comment(`connections at the 2 agents in 2 s, following again: ${after}`)
  t.ok(after >= 20 && after <= 60, `one node polls again (${after} in 2 s)`)
  for (const n of alive) {
    const changes = healthChangesSince(n, k0)
    t.same(changes, ['b2:up'], `${n.name}: one change since the outage began (the agent's maint), no flap on the way back: ${changes.join(' ')}`)
    t.same((await n.status()).pools[0].backends.map((b) => b.state), ['drain', 'maint'], `${n.name}: b1 drained, b2 in maint`)
  }
})

// Agent check end to end on a forked primary with two workers: the agent of
// one proxy says `drain` and new flows stop going there within about one agent
// interval, while an established one carries on; /status and /metrics show
// the agent; its `up 100%`... `ready` brings it back; garbage changes nothing.
import t from 'tap'
import { startAgent } from '../fixtures/agent.ts'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { connect, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import { backendCommand } from '../../src/cli/backend.ts'

t.test('agent drain takes a backend out of new flows; ready brings it back', async (t) => {
  const a = await startBackend('a')
  const b = await startBackend('b')
  const agent = await startAgent('ready 100%')
  t.teardown(async () => {
    await a.close()
    await b.close()
    await agent.close()
  })
  const lb = await startCluster({
    workers: 2,
    backends: [a, b],
    pool: { policy: 'round-robin' },
    backend: (_u, i) => (i === 0 ? { weight: 100, agent: { port: agent.port, interval: '200ms', timeout: '150ms' } } : { weight: 100 }),
  })
  t.teardown(() => lb.stop())

  const row = async () => (await lb.status()).pools[0].backends.find((x) => x.id === 'a')!
  await until('agent polled', async () => ((await row()).agent?.polls ?? 0) >= 1, { deadlineMs: 5000 })
  const served = new Set<string>()
  for (let i = 0; i < 10; i++) served.add(await whoServes(lb.port))
  t.same([...served].sort(), ['a', 'b'], 'both serve while the agent says ready')

  const held = await connect(lb.port) // an established flow, on whichever backend
  const heldName = await new Promise<string>((r) => held.once('data', (d) => r(d.toString().trim())))

  agent.line = 'drain 40% # memory high'
  const t0 = Date.now()
  await until('a drained', async () => (await row()).state === 'drain', { deadlineMs: 5000, intervalMs: 20 })
  const took = Date.now() - t0
  t.ok(took < 1500, `drained ${took} ms after the agent said so (interval 200 ms)`)
  const r = await row()
  t.equal(r.agent?.admin, 'drain')
  t.equal(r.agent?.percent, 40)
  t.equal(r.effectiveWeight, 40, 'effective weight scaled by the agent')
  t.equal(r.adminState, 'ready', 'the operator state is untouched')
  await until('every worker applied it', async () => (await lb.status()).converged)
  const after = new Set<string>()
  for (let i = 0; i < 10; i++) after.add(await whoServes(lb.port))
  t.same([...after], ['b'], 'no new flow to the drained backend')
  // The operator's `ready` does not undo the agent's drain: the command must not claim it takes new connections.
  const said: string[] = []
  const code = await backendCommand(['a', 'ready', '--admin', `127.0.0.1:${lb.adminPort}`], { out: (l) => said.push(l), err: (l) => said.push(l), env: {} })
  t.equal(code, 0)
  t.match(said.join('\n'), /still takes no new connections: its agent says drain 40%/, 'l4lb backend ready says the agent keeps it out')
  t.equal((await row()).state, 'drain', 'and it stays drained')
  held.write('still here\n')
  const echoed = await new Promise<string>((r) => held.once('data', (d) => r(d.toString())))
  t.equal(echoed, 'still here\n', `the established flow (on ${heldName}) carries on`)
  held.destroy()

  const metrics = (await lb.admin('GET', '/metrics')).body
  t.match(metrics, /l4lb_backend_agent_weight_percent\{pool="pool",backend="a"\} 40/)
  t.match(metrics, /l4lb_backend_agent_polls_total\{pool="pool",backend="a"\} [1-9]/)
  t.notMatch(metrics, /l4lb_backend_agent_polls_total\{pool="pool",backend="b"\}/, 'no agent series for a backend without agent')

  agent.line = 'garbage from a broken agent'
  const ignored = (await row()).agent!.ignoredTotal
  await until('garbage ignored', async () => (await row()).agent!.ignoredTotal > ignored, { deadlineMs: 5000 })
  t.equal((await row()).state, 'drain', 'garbage leaves the state as it was')
  t.match((await row()).agent?.ignored, /no known word/)

  agent.line = 'ready 100%'
  await until('a back', async () => (await row()).state === 'ready', { deadlineMs: 5000 })
  await until('every worker applied it', async () => (await lb.status()).converged)
  const back = new Set<string>()
  for (let i = 0; i < 10; i++) back.add(await whoServes(lb.port))
  t.same([...back].sort(), ['a', 'b'], 'both serve again')
  t.match(lb.output(), /agent reply ignored/, 'the ignored reply was logged with its reason')
  t.notMatch(lb.output(), /"change":"agent"/, 'agent changes are logged at info, not warn (this cluster logs warn and above)')
})

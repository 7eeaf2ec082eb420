// Agent checks through the HealthChecker on real sockets: each backend's agent
// is polled on its own interval, its line lands in the table row (what the
// primary decides from and /status shows) and each change is one HealthChange
// of kind `agent`; bad answers change nothing and are counted; reloads keep
// or drop the agent's view; stop() stops polling.
import t, { type Test } from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { AgentConfig } from '../../src/config/types.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { startAgent } from '../fixtures/agent.ts'
import { until, holdFor } from '../helpers/until.ts'
import { backendCfg, healthCfg, poolCfg } from './config.ts'

setLogLevel('silent')

const agentCfg = (port: number, over: Partial<AgentConfig> = {}): AgentConfig => ({ host: null, port, intervalMs: 100, timeoutMs: 100, send: null, ...over })

async function setup(t: Test, line: string) {
  const agent = await startAgent(line)
  const backends = [backendCfg(1, { agent: agentCfg(agent.port) }), backendCfg(2)]
  const changes: HealthChange[] = []
  const pools = [poolCfg('p', backends, healthCfg({ type: 'none' }))]
  const checker = new HealthChecker({ pools, onChange: (c) => changes.push(c) })
  t.teardown(async () => {
    checker.stop()
    await agent.close()
  })
  const row = (id = '127.0.0.1:1') => checker.table().find((r) => r.id === id)!
  return { agent, checker, changes, row, pools, backends }
}

t.test('a line is applied: view, row and one change event', async (t) => {
  const { agent, checker, changes, row } = await setup(t, 'drain 50%')
  t.equal(row().agent?.polls, 0, 'no poll before start')
  t.equal(row('127.0.0.1:2').agent, null, 'a backend without agent has no view')
  checker.start()
  const v = await until('agent applied', () => (row().agent?.line === 'drain 50%' ? row().agent : null), { deadlineMs: 3000 })
  t.equal(v.admin, 'drain')
  t.equal(v.percent, 50)
  t.equal(v.down, false)
  t.equal(v.address, `127.0.0.1:${agent.port}`, 'agent address: the backend host and agent.port')
  await until('change event', () => changes.some((c) => c.kind === 'agent'))
  const c = changes.find((x) => x.kind === 'agent')!
  t.equal(c.detail, 'agent: up drain 50%')
  const polls = row().agent!.polls
  await until('polled again', () => row().agent!.polls >= polls + 2, { deadlineMs: 3000 })
  t.equal(changes.filter((x) => x.kind === 'agent').length, 1, 'the same line again is not a change')
})

t.test('down, then up; parts not mentioned stay', async (t) => {
  const { agent, checker, changes, row } = await setup(t, 'down 30% # disk full')
  checker.start()
  await until('down', () => row().agent?.down === true, { deadlineMs: 3000 })
  t.match(changes.at(-1)?.detail, 'agent: down ready 30% # disk full')
  agent.line = 'up'
  await until('up', () => row().agent?.down === false, { deadlineMs: 3000 })
  t.equal(row().agent!.percent, 30, 'the weight stays: "up" does not mention it')
})

t.test('bad answers change nothing and are counted, then a good line applies', async (t) => {
  const { agent, checker, changes, row } = await setup(t, 'maint')
  checker.start()
  await until('maint', () => row().agent?.admin === 'maint', { deadlineMs: 3000 })
  const before = changes.length
  for (const [mode, line] of [['line', 'hello world'], ['nolf', 'ready'], ['close', ''], ['silent', ''], ['huge', ''], ['slow', 'ready']] as const) {
    agent.mode = mode
    agent.line = line
    agent.delayMs = 300 // slow: past the 100 ms timeout
    const ignored = row().agent!.ignoredTotal
    await until(`${mode} ignored`, () => row().agent!.ignoredTotal > ignored, { deadlineMs: 3000 })
    t.equal(row().agent!.admin, 'maint', `${mode}: still maint`)
    t.ok(row().agent!.ignored, `${mode}: reason kept: ${row().agent!.ignored}`)
  }
  t.equal(changes.length, before, 'no change event for ignored answers')
  agent.mode = 'line'
  agent.line = 'ready'
  await until('ready', () => row().agent?.admin === 'ready', { deadlineMs: 3000 })
  t.equal(row().agent!.ignored, null)
})

t.test('reload: same agent keeps its view, a removed agent drops it; stop stops polling', async (t) => {
  const { agent, checker, row, pools, backends } = await setup(t, 'drain')
  checker.start()
  await until('drain', () => row().agent?.admin === 'drain', { deadlineMs: 3000 })
  checker.update([poolCfg('p', [{ ...backends[0], weight: 5 }, backends[1]], pools[0].health)])
  t.equal(row().agent?.admin, 'drain', 'kept across a reload that keeps the agent')
  checker.update([poolCfg('p', [{ ...backends[0], agent: null }, backends[1]], pools[0].health)])
  t.equal(row().agent, null, 'agent removed: no view')
  checker.update(pools)
  t.equal(row().agent?.admin, 'ready', 'agent added back: starts fresh')
  checker.stop()
  await holdFor(50)
  const polls = agent.polls
  await holdFor(400)
  t.equal(agent.polls, polls, 'no poll after stop')
})

t.test('agent-send is sent on every poll', async (t) => {
  const agent = await startAgent('up')
  const checker = new HealthChecker({ pools: [poolCfg('p', [backendCfg(1, { agent: agentCfg(agent.port, { send: 'hello\n' }) })], healthCfg({ type: 'none' }))], onChange: () => {} })
  t.teardown(async () => {
    checker.stop()
    await agent.close()
  })
  checker.start()
  await until('two polls', () => agent.received.filter((r) => r === 'hello\n').length >= 2, { deadlineMs: 3000 })
  t.pass('each poll sent agent-send')
})

t.test('a poll that throws is ignored with its reason, and polling goes on', async (t) => {
  let calls = 0
  const checker = new HealthChecker({
    pools: [poolCfg('p', [backendCfg(1, { agent: agentCfg(9) })], healthCfg({ type: 'none' }))],
    onChange: () => {},
    askAgent: async () => {
      calls++
      throw new Error('boom')
    },
  })
  t.teardown(() => checker.stop())
  checker.start()
  await until('two polls', () => calls >= 2, { deadlineMs: 3000 })
  const v = checker.table()[0].agent!
  t.equal(v.ignored, 'poll error: boom')
  t.equal(v.admin, 'ready')
})

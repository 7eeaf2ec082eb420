// The checker's agent hooks for a fleet, on a fake clock with an injected
// agent: setAgentPolling(false) (a follower) sends no poll; adoptAgents()
// takes the leader's views, emits one `agent` change per change and marks
// them `source: leader`; polling again (a new leader, or a fallback) goes on
// from the adopted views, so an agent that says the same changes nothing.
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { AgentConfig } from '../../src/config/types.ts'
import type { SharedAgentView } from '../../src/health/agent-poller.ts'
import type { AgentTarget } from '../../src/health/probes/agent.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, poolCfg } from './config.ts'
import { fakeTime } from './fake-time.ts'

setLogLevel('silent')

const agentCfg = (port: number): AgentConfig => ({ host: null, port, intervalMs: 100, timeoutMs: 50, send: null })

function rig(lines: Record<number, string>) {
  const clock = fakeTime()
  const asked: number[] = []
  const changes: HealthChange[] = []
  const checker = new HealthChecker({
    pools: [poolCfg('p', [backendCfg(1, { agent: agentCfg(9001) }), backendCfg(2, { agent: agentCfg(9002) }), backendCfg(3)], healthCfg({ type: 'none' }))],
    onChange: (c) => changes.push(c),
    now: clock.now,
    random: () => 0.5,
    timers: clock.timers,
    askAgent: async (target: AgentTarget) => {
      asked.push(target.port)
      return { ok: true, line: lines[target.port], durationMs: 1 }
    },
  })
  const view = (port: number) => checker.table().find((r) => r.id === `127.0.0.1:${port}`)!.agent!
  return { clock, asked, changes, checker, view }
}

const shared = (port: number, over: Partial<SharedAgentView> = {}): SharedAgentView => ({
  address: `127.0.0.1:${port}`, down: false, admin: 'ready', percent: null, line: 'up', lineAt: 5, ignored: null, ...over,
})

t.test('a follower polls no agent; adopting the leader\'s views applies them, one change event each', async (t) => {
  const { clock, asked, changes, checker, view } = rig({ 9001: 'up', 9002: 'up' })
  checker.setAgentPolling(false)
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(1000)
  t.same(asked, [], 'no poll while another node polls')
  t.equal(checker.agentPolling, false)
  const views = new Map([['p/127.0.0.1:1', shared(9001, { admin: 'drain', percent: 50, line: 'drain 50%' })], ['p/127.0.0.1:2', shared(9002)], ['p/127.0.0.1:3', shared(9003)], ['p/gone:1', shared(1)]])
  checker.adoptAgents(views, 'n1', 'fleet leader n1 (term 7)')
  t.same(changes.map((c) => [c.id, c.kind, c.detail]), [['127.0.0.1:1', 'agent', 'fleet leader n1 (term 7): agent: up drain 50%']], 'one change: the drained backend (the others already said up)')
  t.match(view(1), { admin: 'drain', percent: 50, line: 'drain 50%', lineAt: 5, source: 'leader', leader: 'n1', polls: 0 })
  t.match(view(2), { source: 'leader', leader: 'n1' })
  t.equal(checker.table().find((r) => r.id === '127.0.0.1:3')!.agent, null, 'a backend without an agent here gets none')
  checker.adoptAgents(views, 'n1', 'again')
  t.equal(changes.length, 1, 'the same views again: no event')
})

t.test('a view of another agent address is skipped (the leader runs another config)', async (t) => {
  const { changes, checker, view } = rig({})
  checker.setAgentPolling(false)
  checker.adoptAgents(new Map([['p/127.0.0.1:1', shared(9999, { down: true })]]), 'n1', 'leader')
  t.same(changes, [])
  t.match(view(1), { down: false, source: 'local', leader: null })
})

t.test('takeover: polling from adopted views changes nothing while the agents say the same; a new word still applies', async (t) => {
  const lines: Record<number, string> = { 9001: 'drain 50%', 9002: 'down' }
  const { clock, asked, changes, checker, view } = rig(lines)
  checker.setAgentPolling(false)
  checker.start()
  t.teardown(() => checker.stop())
  checker.adoptAgents(new Map([['p/127.0.0.1:1', shared(9001, { admin: 'drain', percent: 50, line: 'drain 50%' })], ['p/127.0.0.1:2', shared(9002, { down: true, line: 'down' })]]), 'n1', 'leader')
  const before = changes.length
  checker.setAgentPolling(true)
  await clock.advance(1000)
  t.ok(asked.filter((p) => p === 9001).length >= 9, `polled again, ~10 a second (${asked.length} polls)`)
  t.equal(changes.length, before, 'no change: the agents say what the leader published')
  t.match(view(1), { admin: 'drain', percent: 50, source: 'local', leader: null })
  t.ok(view(1).polls >= 9, 'polls are counted where they are made')
  lines[9002] = 'up'
  await clock.advance(300)
  t.same(changes.slice(before).map((c) => [c.id, c.detail]), [['127.0.0.1:2', 'agent: up ready']], 'this node\'s own poll applies a new word')
  checker.setAgentPolling(false)
  const n = asked.length
  await clock.advance(1000)
  t.equal(asked.length, n, 'following again: polling stops')
})

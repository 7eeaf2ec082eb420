// HealthSync's agent wiring without a store (nothing is started, so its etcd
// client never dials): a node that takes the leader's document at boot stops
// polling its agents only when the document carries agent views; a document
// from an older leader (no `agents`) leaves the node polling them itself.
import t, { type Test } from 'tap'
import { Etcd3 } from 'etcd3'
import { pino } from 'pino'
import { healthDoc, type HealthDoc } from '../../src/fleet/health-doc.ts'
import { HealthSync } from '../../src/fleet/health-sync.ts'
import { HealthChecker } from '../../src/health/checker.ts'
import type { FleetConfig } from '../../src/config/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, poolCfg } from '../health/config.ts'

setLogLevel('silent')

const fleet: FleetConfig = { endpoints: ['http://127.0.0.1:1'], prefix: '/t', node: 'n2', tls: null, auth: null, leaseTtlMs: 2000, pollIntervalMs: 500, staleAfterMs: 600, stateFile: '/nonexistent' }
const pools = [poolCfg('p', [backendCfg(1, { agent: { host: null, port: 9001, intervalMs: 100, timeoutMs: 50, send: null } })], healthCfg({ type: 'none' }))]

function node(t: Test) {
  const client = new Etcd3({ hosts: fleet.endpoints[0] })
  t.teardown(() => client.close())
  const checker = new HealthChecker({ pools, onChange: () => {}, askAgent: async () => ({ ok: true, line: 'up', durationMs: 1 }) })
  return { sync: new HealthSync({ client, fleet, log: pino({ level: 'silent' }) }), checker }
}

function leaderDoc(): HealthDoc {
  const c = new HealthChecker({ pools, onChange: () => {} })
  return healthDoc('n1', 5, 1, 1000, c.table().map((r) => ({ ...r, agent: { ...r.agent!, admin: 'drain' as const, line: 'drain', lineAt: 900 } })))
}

t.test('a document with agent views: follow, stop polling, adopt them', async (t) => {
  const { sync, checker } = node(t)
  sync.attach(checker, leaderDoc())
  t.equal(sync.status().role, 'follower')
  t.same([checker.probing, checker.agentPolling], [false, false], 'neither probes nor polls')
  t.match(checker.table()[0].agent, { admin: 'drain', source: 'leader', leader: 'n1' })
})

t.test('a document without agent views (an older leader): follow, but poll the agents here', async (t) => {
  const { sync, checker } = node(t)
  const { agents: _, ...old } = leaderDoc()
  sync.attach(checker, old)
  t.equal(sync.status().role, 'follower')
  t.same([checker.probing, checker.agentPolling], [false, true], 'no probe, but agent polls')
  t.match(checker.table()[0].agent, { admin: 'ready', source: 'local' })
})

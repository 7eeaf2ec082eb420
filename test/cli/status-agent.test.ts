// `l4lb status` writes what a backend's agent says in the STATE column, and
// nothing for a backend without an agent (src/cli/status.ts agentNote).
import t from 'tap'
import { agentNote, formatStatus } from '../../src/cli/status.ts'
import type { StatusDoc } from '../../src/admin/model.ts'

const view = (over: Partial<NonNullable<Parameters<typeof agentNote>[0]>> = {}) => ({
  address: '10.0.0.9:9999', down: false, admin: 'ready' as const, percent: null, line: 'up', lineAt: 1, ignored: null, polls: 1, ignoredTotal: 0, source: 'local' as const, leader: null, ...over,
})

t.test('agentNote', async (t) => {
  t.equal(agentNote(null), '')
  t.equal(agentNote(view()), ' agent: up')
  t.equal(agentNote(view({ admin: 'drain', percent: 40 })), ' agent: drain 40%')
  t.equal(agentNote(view({ down: true, admin: 'maint' })), ' agent: down maint')
  t.equal(agentNote(view({ line: null })), ' agent: no line yet')
  t.equal(agentNote(view({ percent: 75, ignored: 'connect ECONNREFUSED' })), ' agent: 75% (last reply ignored)')
  t.equal(agentNote(view({ admin: 'drain', source: 'leader', leader: 'lb2' })), ' agent: drain (via leader lb2)', 'a fleet follower says whose poll it shows')
})

t.test('in the status table', async (t) => {
  const backend = (id: string, agent: ReturnType<typeof view> | null) => ({
    id, host: '10.0.0.1', port: 3128, state: 'drain' as const, adminState: 'ready' as const, health: 'up' as const, weight: 100, effectiveWeight: 40,
    backup: false, active: 0, total: 0, check: { result: null, at: null }, agent, observed: null,
  })
  const doc: StatusDoc = {
    version: 'x', pid: 1, startedAt: 0, generatedAt: 0, healthVersion: 1, appliedVersion: 1, converged: true,
    config: { path: null, loadedAt: 0, lastError: null }, listeners: [], workers: [], fleet: null,
    pools: [{ name: 'p', policy: 'round-robin', backends: [backend('with', view({ admin: 'drain', percent: 40 })), backend('without', null)] }],
  }
  const text = formatStatus(doc)
  t.match(text, /with\s+DRAIN agent: drain 40%\s+40\/100/)
  t.match(text, /without\s+DRAIN\s+40\/100/)
})

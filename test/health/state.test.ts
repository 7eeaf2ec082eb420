import t from 'tap'
import { effectiveState, takesNewFlows } from '../../src/health/state.ts'
import type { AdminState, BackendState, HealthVerdict } from '../../src/health/types.ts'

// The full table: 3 admin states x 3 verdicts x ejected or not (docs/backend-states.md).
const table: readonly [AdminState, HealthVerdict, boolean, BackendState][] = [
  ['ready', 'up', false, 'ready'],
  ['ready', 'unknown', false, 'ready'],
  ['ready', 'down', false, 'down'],
  ['ready', 'up', true, 'down'],
  ['ready', 'unknown', true, 'down'],
  ['ready', 'down', true, 'down'],
  ['drain', 'up', false, 'drain'],
  ['drain', 'unknown', false, 'drain'],
  ['drain', 'down', false, 'down'],
  ['drain', 'up', true, 'down'],
  ['drain', 'unknown', true, 'down'],
  ['drain', 'down', true, 'down'],
  ['maint', 'up', false, 'maint'],
  ['maint', 'unknown', false, 'maint'],
  ['maint', 'down', false, 'maint'],
  ['maint', 'up', true, 'maint'],
  ['maint', 'unknown', true, 'maint'],
  ['maint', 'down', true, 'maint'],
]

t.test('effectiveState table', async (t) => {
  t.equal(table.length, 18, 'every combination listed')
  for (const [admin, verdict, ejected, want] of table) {
    t.equal(effectiveState(admin, verdict, ejected), want, `${admin} ${verdict} ejected=${ejected}`)
  }
})

t.test('only ready with a weight above 0 takes new flows', async (t) => {
  t.equal(takesNewFlows({ state: 'ready', weight: 1 }), true)
  t.equal(takesNewFlows({ state: 'ready', weight: 0 }), false, 'weight 0 drains')
  t.equal(takesNewFlows({ state: 'drain', weight: 1 }), false)
  t.equal(takesNewFlows({ state: 'maint', weight: 1 }), false)
  t.equal(takesNewFlows({ state: 'down', weight: 1 }), false)
})

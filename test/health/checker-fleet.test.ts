// The checker's fleet hooks on a fake clock: setProbing(false) stops active
// probes (a follower) while passive ejection goes on; adopt() takes another
// node's verdicts and emits the changes; probing again goes on from the
// adopted verdicts, so a takeover changes nothing while the backends agree.
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, passiveCfg, poolCfg } from './config.ts'
import { fakeTime } from './fake-time.ts'
import { fakeProbe, type Behaviour } from './fake-probe.ts'

setLogLevel('silent')

function rig(behaviour: (id: string) => Behaviour, consecutive = 0) {
  const clock = fakeTime()
  const fp = fakeProbe(clock, (id) => behaviour(id))
  const changes: HealthChange[] = []
  const checker = new HealthChecker({
    pools: [poolCfg('p', [backendCfg(1), backendCfg(2)], healthCfg({ intervalMs: 100, fastIntervalMs: 100, jitter: 0, fall: 2, rise: 2 }), passiveCfg({ consecutive }))],
    onChange: (c) => changes.push(c),
    now: clock.now,
    probe: fp.probe,
    random: () => 0.5,
    timers: clock.timers,
  })
  return { clock, fp, changes, checker }
}

const row = (verdict: 'up' | 'down', at = 0) => ({ verdict, check: { result: { ok: verdict === 'up', durationMs: 1, detail: verdict === 'up' ? 'L4OK' : 'L4CON ECONNREFUSED' }, at }, changedAt: at, slowstartSince: null })

t.test('probing off: no probe at all; on again: one per interval', async (t) => {
  const { clock, fp, checker } = rig(() => 'ok')
  checker.setProbing(false)
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(1000)
  t.equal(fp.calls.length, 0, 'a follower sends no probe')
  checker.setProbing(true)
  await clock.advance(1000)
  t.ok(fp.count('127.0.0.1:1') >= 9 && fp.count('127.0.0.1:1') <= 11, `probing again: ~10 a second (${fp.count('127.0.0.1:1')})`)
})

t.test('adopt: the leader\'s verdicts become this node\'s, with one change event each', async (t) => {
  const { clock, changes, checker } = rig(() => 'ok')
  checker.setProbing(false)
  checker.start()
  t.teardown(() => checker.stop())
  checker.adopt(new Map([['p/127.0.0.1:1', row('up')], ['p/127.0.0.1:2', row('down')], ['p/unknown:9', row('down')]]), 'fleet leader x (term 3)')
  t.same(checker.table().map((r) => [r.id, r.verdict]), [['127.0.0.1:1', 'up'], ['127.0.0.1:2', 'down']])
  t.same(changes.map((c) => [c.id, c.from, c.to]), [['127.0.0.1:1', 'unknown', 'up'], ['127.0.0.1:2', 'unknown', 'down']])
  t.match(changes[1].detail, /^fleet leader x \(term 3\): L4CON ECONNREFUSED$/)
  checker.adopt(new Map([['p/127.0.0.1:1', row('up', 5)], ['p/127.0.0.1:2', row('down', 5)]]), 'again')
  t.equal(changes.length, 2, 'the same verdicts again: no event')
  await clock.advance(500)
  t.equal(changes.length, 2, 'no probe, so no local verdict either')
})

t.test('takeover: probing from adopted verdicts changes nothing while the backends agree, and a dead one still falls', async (t) => {
  const dead = new Set(['127.0.0.1:2'])
  const { clock, changes, checker } = rig((id) => (dead.has(id) ? 'refused' : 'ok'))
  checker.setProbing(false)
  checker.start()
  t.teardown(() => checker.stop())
  checker.adopt(new Map([['p/127.0.0.1:1', row('up')], ['p/127.0.0.1:2', row('down')]]), 'leader')
  const before = changes.length
  checker.setProbing(true)
  await clock.advance(1000)
  t.equal(changes.length, before, 'no change: the local probes agree with the adopted verdicts')
  dead.add('127.0.0.1:1')
  await clock.advance(300)
  t.same(changes.slice(before).map((c) => [c.id, c.to]), [['127.0.0.1:1', 'down']], 'local probing takes a dead backend out')
})

t.test('passive signals stay local: a follower that cannot connect ejects the backend itself, without a probe', async (t) => {
  const { clock, fp, changes, checker } = rig(() => 'ok', 3)
  checker.setProbing(false)
  checker.start()
  t.teardown(() => checker.stop())
  checker.adopt(new Map([['p/127.0.0.1:1', row('up')], ['p/127.0.0.1:2', row('up')]]), 'leader')
  for (let i = 0; i < 3; i++) checker.reportPassive({ pool: 'p', id: '127.0.0.1:2', outcome: 'error' })
  t.same(changes.slice(2).map((c) => [c.id, c.kind]), [['127.0.0.1:2', 'eject']], 'ejected here, whatever the leader says')
  t.not(checker.table()[1].ejectedUntil, null)
  await clock.advance(500)
  t.equal(fp.calls.length, 0, 'and no probe sent for it')
  checker.adopt(new Map([['p/127.0.0.1:1', row('up', 9)], ['p/127.0.0.1:2', row('up', 9)]]), 'leader')
  t.not(checker.table()[1].ejectedUntil, null, 'the leader\'s "up" does not end a local ejection')
})

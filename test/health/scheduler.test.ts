import t from 'tap'
import { firstDelay, jittered, KeyedTimers, nextDelay } from '../../src/health/scheduler.ts'
import { fakeTime, seeded } from './fake-time.ts'

t.test('jittered stays within base x (1 +/- jitter)', async (t) => {
  const random = seeded(7)
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < 2000; i++) {
    const d = jittered(1000, 0.2, random)
    lo = Math.min(lo, d)
    hi = Math.max(hi, d)
  }
  t.ok(lo >= 800 && hi < 1200, `range [${lo}, ${hi}]`)
  t.ok(lo < 820 && hi > 1180, 'the range is actually used')
  t.equal(jittered(1000, 0, random), 1000, 'no jitter')
  t.equal(jittered(1000, 0.5, () => 0), 500, 'low end')
  t.equal(jittered(1000, 5, () => 0), 1, 'jitter clamped to 1, at least 1 ms')
})

t.test('nextDelay subtracts the time the last probe took', async (t) => {
  t.equal(nextDelay(1000, 0, Math.random, 300), 700)
  t.equal(nextDelay(1000, 0, Math.random, 1500), 0, 'a slow probe: next one at once')
  t.equal(nextDelay(1000, 0, Math.random, -5), 1000, 'clock going back counts as 0')
})

t.test('firstDelay spreads over one interval', async (t) => {
  t.equal(firstDelay(1000, () => 0), 0)
  t.equal(firstDelay(1000, () => 0.5), 500)
})

t.test('KeyedTimers: set replaces, clear and clearAll leave nothing', async (t) => {
  const clock = fakeTime()
  const timers = new KeyedTimers(clock.timers)
  const fired: string[] = []
  timers.set('a', 10, () => fired.push('a1'))
  timers.set('a', 20, () => fired.push('a2'))
  timers.set('b', 5, () => fired.push('b'))
  t.equal(timers.size, 2)
  t.equal(clock.pending(), 2, 'replaced timer was cleared')
  await clock.advance(30)
  t.same(fired, ['b', 'a2'])
  t.equal(timers.size, 0)
  timers.set('c', 10, () => fired.push('c'))
  timers.clear('c')
  timers.set('d', 10, () => fired.push('d'))
  timers.set('e', 10, () => fired.push('e'))
  timers.clearAll()
  t.equal(clock.pending(), 0)
  await clock.advance(100)
  t.same(fired, ['b', 'a2'])
})

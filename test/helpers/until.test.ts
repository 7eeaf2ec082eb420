// The poll helper every test waits with: it returns the check's value, retries
// through errors, and fails at its deadline naming what it waited for.
import t from 'tap'
import { until, UntilTimeout } from './until.ts'

t.test('resolves with the first truthy value the check returns', async (t) => {
  let n = 0
  const got = await until('n reaches 3', () => (++n >= 3 ? { n } : null), { intervalMs: 1 })
  t.same(got, { n: 3 })
})

t.test('an async check that rejects counts as not yet', async (t) => {
  let n = 0
  const got = await until('third call succeeds', async () => {
    if (++n < 3) throw new Error(`try ${n}`)
    return 'ok'
  }, { intervalMs: 1 })
  t.equal(got, 'ok')
  t.equal(n, 3)
})

t.test('at the deadline it rejects naming what and the last value seen', async (t) => {
  const t0 = Date.now()
  let n = 0
  const err = await until('the answer to be 42', () => ++n === 42 ? 42 : 0, { deadlineMs: 120, intervalMs: 5 }).catch((e: unknown) => e)
  const ms = Date.now() - t0
  t.type(err, UntilTimeout)
  t.match((err as Error).message, /timed out after 120 ms waiting for: the answer to be 42 \(last seen: 0\)/)
  t.ok(ms >= 120 && ms < 1000, `gave up at the deadline, not before or long after (${ms} ms)`)
  t.ok(n > 2 && n < 42, `polled more than once and not in a spin (${n} checks)`)
})

t.test('a check that keeps throwing reports its last error', async (t) => {
  const err = (await until('a backend to answer', () => {
    throw new Error('ECONNREFUSED 127.0.0.1:1')
  }, { deadlineMs: 30 }).catch((e: unknown) => e)) as UntilTimeout
  t.match(err.message, /waiting for: a backend to answer \(last seen: Error: ECONNREFUSED 127\.0\.0\.1:1/)
  t.equal(err.what, 'a backend to answer')
})

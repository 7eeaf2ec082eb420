// The retry budget (pools[].retry-budget, Envoy's retry budget) on real
// sockets: off by default every failed connect is retried; with a budget,
// retries in flight never pass max(min-retry-concurrency, percent × active),
// the clients past it are reset at once (connect-failed) and counted as
// overflows. Plus the pure cap.
import net from 'node:net'
import t from 'tap'
import { retryCap } from '../../src/proxy/retry-budget.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { refusedPort, startBackend } from '../fixtures/backend.ts'
import { startBlackhole } from '../hardening/blackhole.ts'
import { forEachEngine } from '../helpers/engines.ts'
import { buildConfig } from '../helpers/config.ts'
import { captureLog, readAll, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

t.test('retryCap: the larger of the floor and the share of active plus queued', async (t) => {
  t.equal(retryCap({ budgetPercent: 20, minRetryConcurrency: 3 }, 0, 0), 3, 'a quiet pool: the floor')
  t.equal(retryCap({ budgetPercent: 20, minRetryConcurrency: 3 }, 100, 0), 20)
  t.equal(retryCap({ budgetPercent: 20, minRetryConcurrency: 3 }, 90, 10), 20, 'queued clients count (Envoy: pending requests)')
  t.equal(retryCap({ budgetPercent: 25, minRetryConcurrency: 0 }, 7, 0), 1, 'rounded down')
  t.equal(retryCap({ budgetPercent: 0, minRetryConcurrency: 0 }, 1000, 0), 0, 'no retry at all')
})

forEachEngine((t) => {
  t.test('off by default: every client whose first backend refuses is retried and served', async (t) => {
    const good = await startBackend('g')
    t.teardown(() => good.close())
    const lb = new Engine(buildConfig([{ name: 'r', port: await refusedPort() }, good], { pool: { policy: 'round-robin', retries: 1 } }), { log: captureLog().log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    for (let i = 0; i < 10; i++) t.equal(await whoServes(port), 'g')
    const p = lb.stats().pools!.find((x) => x.pool === 'pool')!
    t.ok(p.retries >= 5, `retried ${p.retries} times`)
    t.equal(p.retryOverflows, 0)
  })

  t.test('a budget of 0 with no floor: a failed connect is not retried, the client is reset and counted', async (t) => {
    const good = await startBackend('g')
    t.teardown(() => good.close())
    const cap = captureLog()
    const cfg = buildConfig([{ name: 'r', port: await refusedPort() }, good], { pool: { policy: 'round-robin', retries: 1, 'retry-budget': { 'budget-percent': 0, 'min-retry-concurrency': 0 } } })
    const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    let served = 0
    let reset = 0
    for (let i = 0; i < 10; i++) {
      const got = await readAll(net.connect({ port, host: '127.0.0.1' }).end())
      if (got.toString() === 'g\n') served++
      else reset++
    }
    t.equal(served, 5, 'round robin: half go to the good backend first')
    t.equal(reset, 5, 'the other half are reset instead of retried')
    const p = lb.stats().pools!.find((x) => x.pool === 'pool')!
    t.equal(p.retries, 0)
    t.equal(p.retryOverflows, 5)
    await until('connection lines', () => cap.lines.filter((l) => l.reason === 'connect-failed').length === 5)
    t.ok(cap.lines.filter((l) => l.reason === 'connect-failed').every((l) => l.tries === 1), 'each reset client had one try')
  })
})

t.test('the floor: at most min-retry-concurrency retries in flight, the rest reset at once', async (t) => {
  // Every first connect to r fails at once; its retry can only go to the
  // blackhole, where it hangs (in flight) until timeouts.connect (5 s).
  const hole = await startBlackhole()
  t.teardown(() => hole.close())
  const lb = new Engine(buildConfig([{ name: 'r', port: await refusedPort() }, { name: 'h', port: hole.port }], {
    pool: { policy: 'round-robin', retries: 1, 'retry-budget': { 'budget-percent': 10, 'min-retry-concurrency': 2 } },
    top: { timeouts: { connect: '5s' } },
  }), { log: captureLog().log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  const port = lb.listener('test')!.address()!.port
  let ended = 0
  const clients = Array.from({ length: 12 }, () => {
    const s = net.connect({ port, host: '127.0.0.1' })
    const done = readAll(s).then(() => ended++, () => ended++)
    return { s, done }
  })
  t.teardown(() => clients.forEach((c) => c.s.destroy()))
  const pool = lb.pools.get('pool')!
  await until('the r-first clients all decided', () => pool.retry.retries + pool.retry.overflows >= 6, { deadlineMs: 3000 })
  t.equal(pool.retry.inFlight.size, 2, 'two retries in flight: the floor (10% of at most 12 active is 1)')
  t.equal(pool.retry.retries, 2, 'only two retries started')
  t.ok(pool.retry.overflows >= 4, `${pool.retry.overflows} failed connects were not retried`)
  await until('the clients not retried are reset', () => ended === pool.retry.overflows, { deadlineMs: 1000 })
  t.equal(ended, pool.retry.overflows, `${ended} clients ended at once, all of them overflows`)
  t.ok(ended < 12, 'the others still wait on their connects (timeouts.connect 5 s)')
})

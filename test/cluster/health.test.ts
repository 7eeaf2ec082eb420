// Health decided once per machine, on a real forked primary with workers:
// a proxy that accepts TCP but cannot CONNECT onward is marked down within
// fall × interval + timeout and gets no new flows from any worker; it returns
// after rise × interval; probes per interval equal the number of backends,
// whatever the worker count.
import t from 'tap'
import { startBackend } from '../fixtures/backend.ts'
import { clientConnects, connectVia, startCluster } from '../helpers/cluster.ts'
import { countBy, pooled } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

const INTERVAL = 200
const TIMEOUT = 200
const FALL = 2
const RISE = 2
const health = { type: 'connect', connect: { target: 'probe.invalid:443' }, interval: `${INTERVAL}ms`, 'fast-interval': `${INTERVAL}ms`, timeout: `${TIMEOUT}ms`, fall: FALL, rise: RISE, jitter: 0 }

t.test('a failing proxy is marked down in time, gets no new flows, and returns', async (t) => {
  const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n, 'connect')))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const lb = await startCluster({ workers: 2, backends: bes, pool: { health } })
  t.teardown(() => lb.stop())
  const state = async (id: string) => (await lb.status()).pools[0].backends.find((b) => b.id === id)!
  await until('b up first', async () => (await state('b')).health === 'up', { deadlineMs: 3000, intervalMs: 25 })

  bes[1].connectStatus = 502 // accepts TCP, cannot reach onward
  const t0 = Date.now()
  await until('b marked down', async () => (await state('b')).state === 'down', { deadlineMs: 5000, intervalMs: 25 })
  const took = Date.now() - t0
  const bound = FALL * INTERVAL + TIMEOUT
  t.comment(`marked down after ${took} ms (bound fall x interval + timeout = ${bound} ms, plus the probe in flight and status polling)`)
  t.ok(took <= bound + INTERVAL + 150, `within the bound: ${took} ms`)
  t.match((await state('b')).check.result, { ok: false, detail: /502/ }, 'last check result shown')

  const before = clientConnects(bes[1])
  const clients = Array.from({ length: 60 }, (_, i) => `127.0.6.${i + 1}`)
  const names = await pooled(120, 12, (i) => connectVia(lb.port, clients[i % 60]))
  t.notOk(countBy(names).b, `no flow went to b: ${JSON.stringify(countBy(names))}`)
  t.equal(clientConnects(bes[1]), before, 'b received no client connection from any worker')

  bes[1].connectStatus = 200
  const t1 = Date.now()
  await until('b ready again', async () => (await state('b')).state === 'ready', { deadlineMs: 5000, intervalMs: 25 })
  const back = Date.now() - t1
  t.comment(`back after ${back} ms (rise x interval = ${RISE * INTERVAL} ms)`)
  t.ok(back <= RISE * INTERVAL + INTERVAL + 150, `returns after about rise x interval: ${back} ms`)
  // Other client addresses than the first round's: a reused address with a kernel-chosen port can
  // meet its own earlier 4-tuple still in TIME_WAIT, which answers the SYN with a reset (seen in CI).
  const others = clients.map((_, i) => `127.0.7.${i + 1}`)
  const again = countBy(await pooled(120, 12, (i) => connectVia(lb.port, others[i % 60])))
  t.ok(again.b > 0, `b takes flows again: ${JSON.stringify(again)}`)
})

t.test('probes per interval equal the number of backends, whatever the worker count', async (t) => {
  const counts: Record<number, number[]> = {}
  for (const workers of [1, 3]) {
    const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n, 'connect')))
    const lb = await startCluster({ workers, backends: bes, pool: { health } })
    const start = bes.map((b) => b.accepted)
    const t0 = Date.now()
    await holdFor(2000) // the subject: how many probes fit in this window
    const elapsed = Date.now() - t0
    counts[workers] = bes.map((b, i) => b.accepted - start[i])
    await lb.stop()
    await Promise.all(bes.map((b) => b.close()))
    // One probe per interval: ~elapsed/INTERVAL. The slack below is for timers delayed on a
    // loaded machine (3 intervals), not for a checker that skips or doubles probes.
    const most = Math.ceil(elapsed / INTERVAL) + 1
    const least = Math.floor(elapsed / INTERVAL) - 3
    for (const [i, n] of counts[workers].entries()) {
      t.ok(n >= least && n <= most, `${workers} worker(s): backend ${i} probed ${n} times in ${elapsed} ms (one per ${INTERVAL} ms: ${least}..${most})`)
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  t.ok(Math.abs(sum(counts[3]) - sum(counts[1])) <= 6, `3 workers probe as often as 1: ${sum(counts[3])} vs ${sum(counts[1])}`)
})

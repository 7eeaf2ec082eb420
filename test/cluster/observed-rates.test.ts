// The primary's success-rate windows, fed with summed cumulative counters
// and a fake clock: deltas land in the window, old ones fall out, a backend
// with no answers reads as no data.
import t from 'tap'
import { answerRows, ObservedRates } from '../../src/cluster/observed-rates.ts'
import { buildConfig } from '../helpers/config.ts'

const row = (ok: number, failed: number, windowMs = 10_000) => ({ pool: 'p', id: 'a', windowMs, ok, failed })

t.test('deltas of the cumulative counters make the window', async (t) => {
  let now = 100_000
  const r = new ObservedRates(() => now)
  r.update([row(50, 5)]) // first sight: the past is not put into this moment
  t.same(r.view('p', 'a'), { windowMs: 10_000, ok: 0, failed: 0, successRatio: null }, 'no data yet')
  now += 1000
  r.update([row(53, 6)])
  t.same(r.view('p', 'a'), { windowMs: 10_000, ok: 3, failed: 1, successRatio: 0.75 })
  now += 1000
  r.update([row(53, 10)])
  t.same(r.view('p', 'a'), { windowMs: 10_000, ok: 3, failed: 5, successRatio: 3 / 8 })
  now += 10_000
  r.update([row(53, 10)])
  t.same(r.view('p', 'a'), { windowMs: 10_000, ok: 0, failed: 0, successRatio: null }, 'aged out: no data, not 0% or 100%')
})

t.test('unknown and no-longer-observed backends have no window', async (t) => {
  const r = new ObservedRates(() => 0)
  t.equal(r.view('p', 'a'), null)
  r.update([row(0, 0)])
  t.not(r.view('p', 'a'), null)
  r.update([])
  t.equal(r.view('p', 'a'), null, 'forgotten when its row goes')
})

t.test('a counter that went down starts over; a new window length starts afresh', async (t) => {
  let now = 0
  const r = new ObservedRates(() => now)
  r.update([row(10, 0)])
  now = 1000
  r.update([row(2, 1)]) // went down: nothing counted, new baseline
  t.same(r.view('p', 'a'), { windowMs: 10_000, ok: 0, failed: 0, successRatio: null })
  now = 2000
  r.update([row(3, 1)])
  t.equal(r.view('p', 'a')!.ok, 1)
  r.update([row(3, 1, 20_000)])
  t.same(r.view('p', 'a'), { windowMs: 20_000, ok: 0, failed: 0, successRatio: null })
})

t.test('answerRows: only observing pools, counters summed by the workers, 0 before any report', async (t) => {
  const config = buildConfig([{ name: 'x', port: 9001 }, { name: 'y', port: 9002 }], {
    pool: { observe: 'http-connect', 'observe-window': '20s' },
    extraPools: [{ name: 'plain', backends: [{ host: '127.0.0.1', port: 9003 }] }],
  })
  const totals = { listeners: [], backends: [{ pool: 'pool', id: 'x', active: 0, total: 9, connectFailures: 0, observedOk: 7, observedFailed: 2, bytesIn: 0, bytesOut: 0 }] }
  t.same(answerRows(config, totals), [
    { pool: 'pool', id: 'x', windowMs: 20_000, ok: 7, failed: 2 },
    { pool: 'pool', id: 'y', windowMs: 20_000, ok: 0, failed: 0 },
  ])
})

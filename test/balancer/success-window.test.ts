// The sliding window of answers: what falls in, what falls off, "no data".
import t from 'tap'
import { SuccessWindow } from '../../src/balancer/success-window.ts'

t.test('an empty window is no data, not 100% or 0%', async (t) => {
  const w = new SuccessWindow(30_000)
  t.equal(w.ratio(1_000), null)
  t.equal(w.ok(1_000), 0)
  t.equal(w.failed(1_000), 0)
  t.equal(w.estimate(1_000), 1, 'the balancer counts no data as success')
})

t.test('counts inside the window make the ratio', async (t) => {
  const w = new SuccessWindow(30_000)
  w.add(1_000, 3, 0)
  w.add(5_000, 0, 1)
  w.add(29_000, 4, 0)
  t.equal(w.ok(29_500), 7)
  t.equal(w.failed(29_500), 1)
  t.equal(w.ratio(29_500), 7 / 8)
  t.equal(w.estimate(29_500), 8 / 9, '(ok + 1) / (answers + 1)')
})

t.test('old buckets fall off a bucket at a time', async (t) => {
  const w = new SuccessWindow(10_000, 10) // 1 s buckets
  w.add(0, 0, 5) // bucket 0
  w.add(4_500, 2, 0) // bucket 4
  t.equal(w.failed(9_999), 5, 'bucket 0 still inside at 9.999 s')
  t.equal(w.failed(10_000), 0, 'gone once the window has moved a whole window past its bucket')
  t.equal(w.ok(10_000), 2)
  t.equal(w.ratio(13_999), 1, 'bucket 4 (4-5 s) still inside at 13.999 s')
  t.equal(w.ratio(14_000), null, 'everything fell off: no data again')
  t.equal(w.estimate(14_000), 1)
})

t.test('a slot reused after a full turn starts from zero', async (t) => {
  const w = new SuccessWindow(1_000, 4) // 250 ms buckets, slots reused every second
  w.add(100, 1, 1)
  w.add(1_100, 0, 1) // same slot, one turn later
  t.equal(w.ok(1_100), 0)
  t.equal(w.failed(1_100), 1)
})

t.test('a clock that goes back counts into the newest bucket', async (t) => {
  const w = new SuccessWindow(10_000, 10)
  w.add(50_000, 1, 0)
  w.add(20_000, 0, 1) // back 30 s (an NTP step): not lost, not in a stale slot
  t.equal(w.ok(50_000), 1)
  t.equal(w.failed(50_000), 1)
  t.equal(w.ratio(20_000), 0.5, 'a read with an older time reads the newest window')
})

t.test('a failing backend keeps a small but non-zero estimate', async (t) => {
  const w = new SuccessWindow(30_000)
  w.add(0, 0, 9)
  t.equal(w.ratio(0), 0)
  t.equal(w.estimate(0), 0.1)
})

t.test('bad sizes are programming errors', async (t) => {
  t.throws(() => new SuccessWindow(0), RangeError)
  t.throws(() => new SuccessWindow(1000, 0), RangeError)
  t.throws(() => new SuccessWindow(1000, 1.5), RangeError)
})

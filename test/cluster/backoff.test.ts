import t from 'tap'
import { nextBackoff } from '../../src/cluster/workers.ts'

t.test('a worker that keeps dying is replaced with growing delays; a healthy one at once', async (t) => {
  const seq: number[] = []
  let b = 0
  for (let i = 0; i < 10; i++) seq.push((b = nextBackoff(b, 50)))
  t.same(seq, [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000])
  t.equal(nextBackoff(10000, 60_000), 0, 'after a long life: replaced at once')
})

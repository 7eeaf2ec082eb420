// The bounded FIFO behind the maxconn queue (src/proxy/wait-queue.ts): order,
// bound, removal from the middle, and the same order after many removals
// (the compaction path), against a plain array as the model.
import t from 'tap'
import { WaitQueue } from '../../src/proxy/wait-queue.ts'

t.test('FIFO with a bound and removal from anywhere', async (t) => {
  const q = new WaitQueue<string>()
  t.ok(q.push('a', 3, 10))
  t.ok(q.push('b', 3, 11))
  t.ok(q.push('c', 3, 12))
  t.notOk(q.push('d', 3, 13), 'full at 3')
  t.notOk(q.push('a', 9, 14), 'no item twice')
  t.equal(q.since('b'), 11)
  t.ok(q.remove('b'))
  t.notOk(q.remove('b'), 'already gone')
  t.equal(q.since('b'), undefined)
  t.equal(q.length, 2)
  t.equal(q.peek(), 'a')
  t.equal(q.shift(), 'a')
  t.equal(q.shift(), 'c')
  t.equal(q.shift(), undefined)
  t.equal(q.length, 0)
})

t.test('many pushes and removals keep the order of a plain array (seeded)', async (t) => {
  let seed = 42
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const q = new WaitQueue<number>()
  const model: number[] = []
  let next = 0
  let wrong = 0
  for (let step = 0; step < 20_000; step++) {
    const r = rand()
    if (r < 0.5) {
      const ok = q.push(next, 100, step)
      if (ok !== model.length < 100) wrong++
      if (ok) model.push(next)
      next++
    } else if (r < 0.75 && model.length > 0) {
      const victim = model[Math.floor(rand() * model.length)]
      q.remove(victim)
      model.splice(model.indexOf(victim), 1)
    } else {
      if (q.shift() !== model.shift()) wrong++
    }
    if (q.length !== model.length || q.peek() !== model[0]) wrong++
  }
  t.equal(wrong, 0, 'same bound, length, head and order as the model at every step')
  t.ok(next > 5000, `${next} items went through`)
})

// The address interner: equal texts share one string, and the table stays bounded.
import t from 'tap'
import { INTERN_LIMIT, Interner } from '../../src/net/intern.ts'

t.test('equal address texts come back as the first copy kept', async (t) => {
  const i = new Interner()
  const first = i.intern(['127.0.0', '1'].join('.'))
  const again = i.intern(['127.0', '0.1'].join('.'))
  t.equal(again, first)
  t.equal(i.size, 1)
  t.equal(i.intern('::1'), '::1')
  t.equal(i.size, 2)
})

t.test('a flood of distinct texts never grows the table past its limit', async (t) => {
  const i = new Interner()
  let wrong = 0
  let largest = 0
  for (let n = 0; n < INTERN_LIMIT * 3 + 7; n++) {
    const text = `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`
    if (i.intern(text) !== text) wrong++
    largest = Math.max(largest, i.size)
  }
  t.equal(wrong, 0, 'every text comes back equal')
  t.ok(largest <= INTERN_LIMIT, `at most ${INTERN_LIMIT} kept (largest ${largest})`)
})

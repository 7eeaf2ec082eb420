// A session keeps its flow hash as a signed 32-bit integer (unboxed in V8) but
// every picker must see the unsigned hash it was given: one above 2^31 must
// not come back negative (a ring lookup or a Maglev modulo would pick another
// backend than the other engine and the other balancer nodes).
import t from 'tap'
import { Session } from '../../src/proxy/session.ts'
import { Clock } from '../../src/proxy/clock.ts'
import type { SessionHost } from '../../src/proxy/session-host.ts'

t.test('the flow hash reads back unsigned, across the whole 32-bit range', async (t) => {
  const host = { clock: new Clock() } as unknown as SessionHost
  const client = {} as never
  const s = new Session(host, client, '127.0.0.1', 40000, null, 0)
  for (const h of [0, 1, 2 ** 31 - 1, 2 ** 31, 0xdeadbeef, 2 ** 32 - 1]) {
    s.hash = h
    t.equal(s.hash, h, `hash ${h}`)
  }
})

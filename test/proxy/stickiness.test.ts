// Stickiness and spread through real sockets: hashing policies send every
// connection of one client address to one backend; round robin spreads evenly.
import { startBackend } from '../fixtures/backend.ts'
import { countBy, pooled, startBalancer, whoServes } from '../helpers/lb.ts'
import { buildConfig } from '../helpers/config.ts'
import { forEachEngine } from '../helpers/engines.ts'

forEachEngine((t) => {
  t.test('hashing policies', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    for (const policy of ['maglev', 'ring']) {
      await t.test(policy, async (t) => {
        const { lb, port } = await startBalancer(buildConfig(bes, { pool: { policy } }))
        t.teardown(() => lb.shutdown(200))
        const names = await pooled(1000, 40, () => whoServes(port, '127.0.0.7'))
        const seen = countBy(names)
        t.same(Object.keys(seen).length, 1, `1,000 connections from 127.0.0.7 reached one backend: ${JSON.stringify(seen)}`)
        // Many client addresses spread across backends, each one sticky.
        const byClient = await pooled(64, 16, async (i) => {
          const addr = `127.0.${1 + (i >> 4)}.${10 + (i & 15)}`
          const a = await whoServes(port, addr)
          const b = await whoServes(port, addr)
          return a === b ? a : 'MOVED'
        })
        const spread = countBy(byClient)
        t.notOk(spread.MOVED, 'no client moved between two connections')
        t.ok(Object.keys(spread).length >= 3, `64 clients spread over backends: ${JSON.stringify(spread)}`)
      })
    }
  })

  t.test('src-ip-port hashing spreads one address over backends', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const { lb, port } = await startBalancer(buildConfig(bes, { pool: { policy: 'maglev', 'hash-key': 'src-ip-port' } }))
    t.teardown(() => lb.shutdown(200))
    const seen = countBy(await pooled(90, 10, () => whoServes(port)))
    t.equal(Object.keys(seen).length, 3, `one address, many ports: ${JSON.stringify(seen)}`)
  })

  t.test('round robin spreads evenly', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const { lb, port } = await startBalancer(buildConfig(bes, { pool: { policy: 'round-robin' } }))
    t.teardown(() => lb.shutdown(200))
    const seen = countBy(await pooled(300, 1, () => whoServes(port)))
    t.same(seen, { a: 100, b: 100, c: 100 })
  })

  t.test('two balancers with backends listed in another order pick alike', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    for (const policy of ['maglev', 'ring']) {
      const one = await startBalancer(buildConfig(bes, { pool: { policy } }))
      const two = await startBalancer(buildConfig([...bes].reverse(), { pool: { policy } }))
      const clients = Array.from({ length: 40 }, (_, i) => `127.0.3.${i + 1}`)
      const a = await pooled(40, 10, (i) => whoServes(one.port, clients[i]))
      const b = await pooled(40, 10, (i) => whoServes(two.port, clients[i]))
      t.same(a, b, `${policy}: same client, same backend on both`)
      await one.lb.shutdown(200)
      await two.lb.shutdown(200)
    }
  })
})

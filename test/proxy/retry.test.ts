// Connect failures: a refusing backend is skipped and the client still
// served; when every backend fails or none is available the client is closed
// at once (a reset), and the event is counted and logged with its reason.
import net from 'node:net'
import { Engine } from '../../src/proxy/engine.ts'
import { startBackend } from '../fixtures/backend.ts'
import { captureLog, countBy, pooled, readAll, startBalancer, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import { buildConfig } from '../helpers/config.ts'
import { forEachEngine } from '../helpers/engines.ts'

forEachEngine((t) => {
  t.test('a refusing backend is skipped and the client is served', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    await bes[1].refuse()
    for (const policy of ['round-robin', 'maglev', 'ring', 'least-conn', 'p2c', 'random', 'weighted-round-robin']) {
      const { lb, port } = await startBalancer(buildConfig(bes, { pool: { policy, retries: 2 } }))
      const seen = countBy(await pooled(60, 6, (i) => whoServes(port, `127.0.4.${i + 1}`)))
      t.notOk(seen.b, `${policy}: nobody served by the refusing backend: ${JSON.stringify(seen)}`)
      t.equal((seen.a ?? 0) + (seen.c ?? 0), 60, `${policy}: every client served`)
      const b = lb.stats().backends.find((x) => x.id === 'b')!
      t.ok(b.connectFailures >= 1, `${policy}: connect failures counted (${b.connectFailures})`)
      await lb.shutdown(200)
    }
  })

  t.test('retries try different backends, up to retries', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    await bes[0].refuse()
    await bes[1].refuse()
    const cap = captureLog()
    const cfg = buildConfig(bes, { pool: { policy: 'round-robin', retries: 1 } })
    const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    // Round robin starts at a: a fails, one retry goes to b, fails: connect-failed.
    const got = await readAll(net.connect({ port, host: '127.0.0.1' }))
    t.equal(got.length, 0, 'client closed (reset) without data')
    await until('the connection-closed log line', () => cap.lines.some((l) => l.msg === 'connection closed'))
    const line = cap.lines.find((l) => l.msg === 'connection closed')!
    t.equal(line.reason, 'connect-failed')
    t.equal(line.tries, 2, 'first try plus one retry')
    t.equal(line.flags, 'sC')
  })

  t.test('no backend available: closed at once, counted and logged', async (t) => {
    const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const cap = captureLog()
    const lb = new Engine(buildConfig(bes), { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    lb.applySnapshot({ version: 5, pools: [{ name: 'pool', backends: [{ id: 'a', state: 'down', weight: 1 }, { id: 'b', state: 'maint', weight: 1 }] }] })
    const port = lb.listener('test')!.address()!.port
    // Reset at once (docs/errors.md), maybe before the client saw its connect complete.
    const got = await readAll(net.connect({ port, host: '127.0.0.1' }))
    t.equal(got.length, 0)
    await until('the listener counted one no-backend rejection', () => lb.stats().listeners[0].noBackend === 1)
    t.equal(lb.stats().listeners[0].noBackend, 1, 'counted')
    t.ok(cap.lines.some((l) => l.reason === 'no-backend' && l.flags === 'NB'), 'logged even with connection logs off')
    t.equal(bes[0].accepted + bes[1].accepted, 0, 'no backend was dialled')
    t.notOk(lb.healthy(), 'unhealthy: no backend can take traffic')
  })

  t.test('backups only when no primary can serve; stale snapshots ignored', async (t) => {
    const bes = await Promise.all(['a', 'b', 'bk'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const cfg = buildConfig(bes, { pool: { policy: 'maglev' }, backend: (b) => (b.name === 'bk' ? { backup: true } : {}) })
    const { lb, port } = await startBalancer(cfg)
    t.teardown(() => lb.shutdown(200))
    let seen = countBy(await pooled(40, 8, (i) => whoServes(port, `127.0.5.${i + 1}`)))
    t.notOk(seen.bk, 'backup idle while primaries are up')
    lb.applySnapshot({ version: 2, pools: [{ name: 'pool', backends: [{ id: 'a', state: 'down', weight: 1 }, { id: 'b', state: 'drain', weight: 1 }, { id: 'bk', state: 'ready', weight: 1 }] }] })
    seen = countBy(await pooled(40, 8, (i) => whoServes(port, `127.0.5.${i + 1}`)))
    t.same(seen, { bk: 40 }, 'all to the backup')
    t.notOk(lb.applySnapshot({ version: 1, pools: [] }), 'an older snapshot is ignored')
    seen = countBy(await pooled(10, 5, (i) => whoServes(port, `127.0.5.${i + 1}`)))
    t.same(seen, { bk: 10 }, 'still the backup')
  })
})

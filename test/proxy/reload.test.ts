// In-process reload: established connections survive; those on a removed
// backend live at most hard-stop-after; removed listeners stop accepting.
import net from 'node:net'
import { forEachEngine } from '../helpers/engines.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { refusedPort, startBackend } from '../fixtures/backend.ts'
import { captureLog } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'
import { buildConfig } from '../helpers/config.ts'

async function opened(port: number): Promise<{ sock: net.Socket; name: string }> {
  const sock = net.connect({ port, host: '127.0.0.1' })
  sock.on('error', () => {})
  const name = await new Promise<string>((r) => sock.once('data', (d) => r(d.toString().trim())))
  return { sock, name }
}

forEachEngine((t) => {
  t.test('a removed backend drains until hard-stop-after; the others carry on', async (t) => {
    const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const cap = captureLog()
    const base = buildConfig(bes, { pool: { policy: 'round-robin' } })
    const cfg = { ...base, log: { ...base.log, connections: true }, shutdown: { drainMs: 1000, hardStopAfterMs: 300 } }
    const lb = new Engine(cfg, { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    const c1 = await opened(port)
    const c2 = await opened(port)
    const onB = c1.name === 'b' ? c1 : c2
    const onA = c1.name === 'a' ? c1 : c2
    t.same([onA.name, onB.name], ['a', 'b'])
    const keepOnly = buildConfig([bes[0]], { pool: { policy: 'round-robin' } })
    const closedAt = new Promise<number>((r) => onB.sock.once('close', () => r(Date.now())))
    const t0 = Date.now()
    await lb.applyConfig({ ...keepOnly, log: cfg.log, shutdown: cfg.shutdown })
    // Right after the reload both still work.
    onB.sock.write('x')
    const back = await new Promise<string>((r) => onB.sock.once('data', (d) => r(d.toString())))
    t.equal(back, 'x', 'the connection on the removed backend still carries data after the reload')
    const when = (await closedAt) - t0
    // Not before hard-stop-after (300 ms), and by it rather than by the drain (1 s); slack for load.
    t.ok(when >= 290 && when < 1000, `ended by hard-stop-after: ${when} ms after the reload (300 ms; drain is 1000 ms)`)
    const line = await until('the hard-stop log line', () => cap.lines.find((l) => l.reason === 'hard-stop'))
    t.match(line, { backend: 'b' }, 'logged as hard-stop on b')
    onA.sock.write('y')
    const echo = await new Promise<string>((r) => onA.sock.once('data', (d) => r(d.toString())))
    t.equal(echo, 'y', 'the connection on the kept backend is untouched')
    onA.sock.destroy()
  })

  const refusedAt = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' })
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'))
      s.on('connect', () => (s.destroy(), resolve(false)))
    })

  t.test('a listener removed by a reload stops accepting, its connections carry on', async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const base = buildConfig([be])
    const lb = new Engine(base, { log: captureLog().log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    const c = await opened(port)
    const other = buildConfig([be])
    const newPort = await refusedPort()
    await lb.applyConfig({ ...other, listeners: [{ ...other.listeners[0], name: 'new', bind: { host: '127.0.0.1', port: newPort } }] })
    t.ok(await refusedAt(port), 'the old address no longer accepts')
    const fresh = await opened(newPort)
    t.equal(fresh.name, 'a', 'the new listener serves')
    fresh.sock.destroy()
    c.sock.write('z')
    const echo = await new Promise<string>((r) => c.sock.once('data', (d) => r(d.toString())))
    t.equal(echo, 'z', 'an established connection of the old listener still works')
    c.sock.destroy()
  })

  t.test('applyConfig is all or nothing: one new listener that cannot bind opens none and changes nothing', async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const busy = net.createServer()
    await new Promise<void>((r) => busy.listen({ host: '127.0.0.1', port: 0 }, () => r()))
    t.teardown(() => busy.close())
    const busyPort = (busy.address() as net.AddressInfo).port
    const base = buildConfig([be])
    const lb = new Engine(base, { log: captureLog().log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    const free = await refusedPort()
    const next = {
      ...base,
      listeners: [
        { ...base.listeners[0], name: 'moved', bind: { host: '127.0.0.1', port: free } },
        { ...base.listeners[0], name: 'busy', bind: { host: '127.0.0.1', port: busyPort } },
      ],
    }
    await t.rejects(lb.applyConfig(next), { name: 'BindError', errno: 'EADDRINUSE', message: `listener "busy" cannot bind 127.0.0.1:${busyPort}: the address is in use by another process (EADDRINUSE)` })
    t.equal(lb.config, base, 'the running config is unchanged')
    t.ok(await refusedAt(free), 'the listener that could bind was closed again')
    t.equal((await opened(port)).name, 'a', 'the old listener serves')
    t.same([...lb.listeners.values()].map((l) => l.config.name), ['test'])
  })

  t.test('a prepared listener holds its connections until the commit, and a rollback closes them', async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const base = buildConfig([be])
    const lb = new Engine(base, { log: captureLog().log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const extra = (p: number) => ({ ...base, listeners: [...base.listeners, { ...base.listeners[0], name: 'extra', bind: { host: '127.0.0.1', port: p } }] })
    // Rolled back: the held client is closed, the address refuses again.
    const p1 = await refusedPort()
    const n1 = extra(p1)
    await lb.prepareConfig(n1)
    const held1 = net.connect({ port: p1, host: '127.0.0.1' })
    held1.on('error', () => {})
    await new Promise((r) => held1.once('connect', r))
    await holdFor(200) // the subject: a window in which an uncommitted listener must not serve
    t.equal(be.accepted, 0, 'nothing served by a config not committed')
    lb.abortConfig()
    // Bytes a backend would have sent wait in the paused socket; reading them now counts them.
    const gotBytes = await new Promise<number>((r) => {
      let n = 0
      held1.on('data', (d: Buffer) => void (n += d.length))
      held1.once('close', () => r(n))
    })
    t.equal(gotBytes, 0, 'the held connection is closed by the rollback, never served')
    t.ok(await refusedAt(p1), 'the address is free again')
    // Committed: the held client is served by the new listener.
    const p2 = await refusedPort()
    const n2 = extra(p2)
    await lb.prepareConfig(n2)
    const held2 = net.connect({ port: p2, host: '127.0.0.1' })
    held2.on('error', () => {})
    const name = new Promise<string>((r) => held2.once('data', (d) => r(d.toString().trim())))
    await new Promise((r) => held2.once('connect', r))
    lb.commitConfig(n2)
    t.equal(await name, 'a', 'served once committed')
    held2.destroy()
  })
})

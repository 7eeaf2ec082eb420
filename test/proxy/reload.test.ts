// In-process reload: established connections survive; those on a removed
// backend live at most hard-stop-after; removed listeners stop accepting.
import net from 'node:net'
import t from 'tap'
import { Balancer } from '../../src/proxy/balancer.ts'
import { refusedPort, startBackend } from '../fixtures/backend.ts'
import { captureLog, configFor, until } from '../helpers/lb.ts'

async function opened(port: number): Promise<{ sock: net.Socket; name: string }> {
  const sock = net.connect({ port, host: '127.0.0.1' })
  sock.on('error', () => {})
  const name = await new Promise<string>((r) => sock.once('data', (d) => r(d.toString().trim())))
  return { sock, name }
}

t.test('a removed backend drains until hard-stop-after; the others carry on', async (t) => {
  const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const cap = captureLog()
  const base = configFor(bes, { policy: 'round-robin' })
  const cfg = { ...base, log: { ...base.log, connections: true }, shutdown: { drainMs: 1000, hardStopAfterMs: 300 } }
  const lb = new Balancer(cfg, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  const port = lb.listener('test')!.address()!.port
  const c1 = await opened(port)
  const c2 = await opened(port)
  const onB = c1.name === 'b' ? c1 : c2
  const onA = c1.name === 'a' ? c1 : c2
  t.same([onA.name, onB.name], ['a', 'b'])
  const keepOnly = configFor([bes[0]], { policy: 'round-robin' })
  await lb.applyConfig({ ...keepOnly, log: cfg.log, shutdown: cfg.shutdown })
  // Right after the reload both still work.
  onB.sock.write('x')
  await new Promise((r) => onB.sock.once('data', r))
  t.pass('the connection on the removed backend still carries data after the reload')
  const closedAt = new Promise<number>((r) => onB.sock.once('close', () => r(Date.now())))
  const t0 = Date.now()
  const when = (await closedAt) - t0
  t.ok(when < 2000, `ended by hard-stop-after (${when} ms after the reload)`)
  await until(() => cap.lines.some((l) => l.reason === 'hard-stop'))
  t.ok(cap.lines.some((l) => l.reason === 'hard-stop' && l.backend === 'b'), 'logged as hard-stop')
  onA.sock.write('y')
  const echo = await new Promise<string>((r) => onA.sock.once('data', (d) => r(d.toString())))
  t.equal(echo, 'y', 'the connection on the kept backend is untouched')
  onA.sock.destroy()
})

t.test('a listener removed by a reload stops accepting, its connections carry on', async (t) => {
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const base = configFor([be])
  const lb = new Balancer(base, { log: captureLog().log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  const port = lb.listener('test')!.address()!.port
  const c = await opened(port)
  const other = configFor([be])
  const newPort = await refusedPort()
  await lb.applyConfig({ ...other, listeners: [{ ...other.listeners[0], name: 'new', bind: { host: '127.0.0.1', port: newPort } }] })
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.on('error', () => resolve(true))
    s.on('connect', () => (s.destroy(), resolve(false)))
  })
  t.ok(refused, 'the old address no longer accepts')
  const fresh = await opened(newPort)
  t.equal(fresh.name, 'a', 'the new listener serves')
  fresh.sock.destroy()
  c.sock.write('z')
  const echo = await new Promise<string>((r) => c.sock.once('data', (d) => r(d.toString())))
  t.equal(echo, 'z', 'an established connection of the old listener still works')
  c.sock.destroy()
})

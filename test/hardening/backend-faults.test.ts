// Backend faults end with the right termination reason in the connection log
// and leak nothing (listener active and backend load back to 0): reset
// mid-stream, close half-way, accept and never answer, blackhole (connect
// never completes: retried elsewhere, connect-failed when all fail). Retries
// happen only before any byte was forwarded.
import net from 'node:net'
import type { Engine } from '../../src/proxy/engine.ts'
import { refusedPort, startBackend } from '../fixtures/backend.ts'
import { connect, readAll, whoServes } from '../helpers/lb.ts'
import { startBlackhole } from './blackhole.ts'
import { logged } from './helpers.ts'
import { until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'

type T = { teardown(fn: () => unknown): void }

/** A raw backend: `onConn` decides what each accepted socket does. */
async function rawBackend(t: T, name: string, onConn: (s: net.Socket) => void) {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    onConn(s)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    return new Promise((r) => server.close(() => r(undefined)))
  })
  return { name, port: (server.address() as net.AddressInfo).port, sockets, accepted: () => accepted }
}

async function noLeaks(t: { ok(v: boolean, m: string): unknown }, lb: Engine, label: string): Promise<void> {
  const idle = (): boolean => lb.stats().listeners.every((l) => l.active === 0) && lb.stats().backends.every((b) => b.active === 0)
  await until(`${label}: listener active and backend load back to 0`, idle)
}

forEachEngine((t) => {
  t.test('reset mid-stream: server-reset, the bytes before it delivered', async (t) => {
    const be = await startBackend('r', 'reset')
    t.teardown(() => be.close())
    const { lb, port, closed } = await logged(t, [be])
    const got = await readAll(await connect(port))
    t.equal(got.toString(), 'r\n', 'the bytes sent before the reset reached the client')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'server-reset', flags: 'sR', tries: 1, backend: 'r' })
    await noLeaks(t, lb, 'reset')
    await until('the backend side closed', () => be.sockets.size === 0)
    t.equal(be.sockets.size, 0, 'no socket left on the backend')
  })

  t.test('close half-way: server-closed, the partial answer delivered in full', async (t) => {
    const half = Buffer.alloc(200_000, 'h')
    const be = await rawBackend(t, 'half', (s) => s.once('data', () => s.end(half)))
    const { lb, port, closed } = await logged(t, [be])
    const sock = await connect(port)
    sock.write('give me 400000 bytes\n')
    const got = await readAll(sock)
    t.equal(got.length, half.length, 'every byte sent before the close arrived')
    t.ok(got.equals(half), 'intact')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'server-closed', flags: 'SD', tries: 1, bytesOut: half.length })
    await noLeaks(t, lb, 'half-way')
  })

  t.test('accept and never answer: idle-timeout', async (t) => {
    const be = await startBackend('hung', 'stall')
    t.teardown(() => be.close())
    const { lb, port, closed } = await logged(t, [be], { top: { timeouts: { idle: '300ms' } } })
    const sock = await connect(port)
    sock.write('hello?')
    t.equal((await readAll(sock)).length, 0, 'nothing came back')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'idle-timeout', flags: 'cT', tries: 1, bytesIn: 6, bytesOut: 0 })
    await noLeaks(t, lb, 'stall')
    await until('the backend connection closed', () => be.ends[0]?.closed === true)
    t.equal(be.ends[0].error, 'ECONNRESET', 'the backend got a reset, not a FIN the client never sent')
  })

  t.test('blackhole: connect times out, retried elsewhere; connect-failed when all fail', async (t) => {
    const hole = await startBlackhole()
    t.teardown(() => hole.close())
    t.comment(`blackhole on port ${hole.port} after ${hole.fillers} queued connections`)
    const good = await startBackend('good')
    t.teardown(() => good.close())
    {
      const { lb, port, closed } = await logged(t, [{ name: 'hole', port: hole.port }, good], { top: { timeouts: { connect: '300ms' } }, pool: { retries: 2 } })
      const served = await Promise.all([0, 1, 2, 3].map(() => whoServes(port)))
      t.same(served, ['good', 'good', 'good', 'good'], 'every client served by the live backend')
      await until('4 connection-closed log lines', () => closed().length === 4)
      const retried = closed().filter((l) => l.tries === 2)
      t.ok(retried.length >= 1, `connections that met the blackhole were retried (${retried.length})`)
      t.ok(closed().every((l) => l.backend === 'good' && l.reason === 'client-closed'))
      const holeStats = lb.stats().backends.find((b) => b.id === 'hole')!
      t.equal(holeStats.connectFailures, retried.length, 'each timeout counted as a connect failure')
      await noLeaks(t, lb, 'blackhole + good')
    }
    {
      const refused = { name: 'gone', port: await refusedPort() }
      const { lb, port, closed } = await logged(t, [{ name: 'hole', port: hole.port }, refused], { top: { timeouts: { connect: '300ms' } }, pool: { retries: 2 } })
      t.equal((await readAll(await connect(port))).length, 0, 'closed without data')
      await until('the connection-closed log line', () => closed().length === 1)
      t.match(closed()[0], { reason: 'connect-failed', flags: 'sC', tries: 2, bytesOut: 0 })
      await noLeaks(t, lb, 'all fail')
    }
  })

  t.test('a reset after client bytes were forwarded is not retried', async (t) => {
    const resetter = await rawBackend(t, 'resetter', (s) => s.once('data', () => s.resetAndDestroy()))
    const good = await startBackend('good')
    t.teardown(() => good.close())
    const { lb, port, closed } = await logged(t, [resetter, good], { pool: { retries: 2 } })
    const results = await Promise.all([0, 1].map(async () => {
      const sock = await connect(port)
      sock.end('hello\n') // and half-close, so the served one ends at once
      return (await readAll(sock)).toString()
    }))
    t.same(results.sort(), ['', 'good\nhello\n'], 'one client got the reset, the other was served')
    t.equal(resetter.accepted(), 1)
    t.equal(good.accepted, 1, 'the reset connection was not replayed on the other backend')
    await until('2 connection-closed log lines', () => closed().length === 2)
    const reset = closed().find((l) => l.backend === 'resetter')
    t.match(reset, { reason: 'server-reset', tries: 1, bytesIn: 6 })
    await noLeaks(t, lb, 'reset after bytes')
  })
})

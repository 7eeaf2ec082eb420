// The queue at maxconn (pools[].max-queue + timeouts.queue, HAProxy's
// maxconn queue) on real sockets: clients past every backend's maxconn wait
// unread and are served in arrival order as slots free; a full queue refuses
// at once; a client that waits timeouts.queue is reset (queue-timeout); bytes
// sent while waiting all arrive. Both engines.
import net from 'node:net'
import type { Test } from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { type FixtureBackend, startBackend } from '../fixtures/backend.ts'
import { forEachEngine } from '../helpers/engines.ts'
import { buildConfig, type ConfigOver } from '../helpers/config.ts'
import { captureLog } from '../helpers/lb.ts'
import { ending, seen } from '../helpers/endings.ts'
import { until, holdFor } from '../helpers/until.ts'

interface Client {
  readonly sock: net.Socket
  got: string // bytes received from the backend
  closed: boolean
}

/** Connect and wait until the balancer has accepted it (so clients arrive in the order made). */
async function client(port: number, lb: Engine): Promise<Client> {
  const before = lb.stats().listeners[0].accepted
  const sock = net.connect({ port, host: '127.0.0.1' })
  const c: Client = { sock, got: '', closed: false }
  sock.setEncoding('latin1')
  sock.on('data', (d: string) => (c.got += d))
  sock.on('error', () => {})
  sock.on('close', () => (c.closed = true))
  await until('the balancer to accept the client', () => lb.stats().listeners[0].accepted > before)
  return c
}

async function setup(t: Test, over: ConfigOver, n = 2): Promise<{ lb: Engine; port: number; bes: FixtureBackend[]; lines: Record<string, unknown>[] }> {
  const bes = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const cap = captureLog()
  const cfg = buildConfig(bes, over)
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  return { lb, port: lb.listener('test')!.address()!.port, bes, lines: cap.lines }
}

const served = (c: Client): boolean => /^b\d\n/.test(c.got)
const poolStats = (lb: Engine) => lb.stats().pools!.find((p) => p.pool === 'pool')!

forEachEngine((t) => {
  t.test('two backends at maxconn 5, 20 clients: 10 served, 10 wait and are served one by one in arrival order', async (t) => {
    const { lb, port, bes } = await setup(t, { pool: { 'max-queue': 20 }, backend: () => ({ maxconn: 5 }), top: { timeouts: { queue: '20s' } } })
    const clients: Client[] = []
    t.teardown(() => clients.forEach((c) => c.sock.destroy()))
    for (let i = 0; i < 20; i++) clients.push(await client(port, lb))
    await until('the first ten served', () => clients.slice(0, 10).every(served))
    await holdFor(100)
    t.equal(clients.filter(served).length, 10, 'only ten served: both backends at maxconn 5')
    t.same(bes.map((b) => b.sockets.size), [5, 5], 'five connections on each backend')
    t.equal(poolStats(lb).queued, 10, 'ten wait in the queue')
    for (let k = 0; k < 10; k++) {
      clients[k].sock.destroy() // frees one slot
      await until(`client ${10 + k} served`, () => served(clients[10 + k]))
      t.same(clients.slice(11 + k).filter(served).length, 0, `client ${10 + k} came first: the ones behind it still wait`)
      t.ok(bes.every((b) => b.sockets.size <= 5), 'no backend above maxconn')
    }
    t.equal(clients.filter(served).length, 20, 'every client served')
    const p = poolStats(lb)
    t.equal(p.queued, 0)
    t.equal(p.dequeued, 10)
    t.ok(p.queueWaitMs >= 10 * 100, `time waited is counted (${p.queueWaitMs} ms in all)`)
    t.equal(p.queueTimeouts + p.queueRefused, 0)
  })

  t.test('bytes sent while waiting are not read until a backend is there, then all arrive', async (t) => {
    const { lb, port, bes } = await setup(t, { pool: { 'max-queue': 5 }, backend: () => ({ maxconn: 1 }) }, 1)
    const first = await client(port, lb)
    t.teardown(() => first.sock.destroy())
    await until('first served', () => served(first))
    const waiting = await client(port, lb)
    t.teardown(() => waiting.sock.destroy())
    const payload = 'x'.repeat(200_000) + '\n'
    waiting.sock.write(payload)
    await holdFor(200)
    t.equal(poolStats(lb).queued, 1, 'it waits')
    const newest = (lb.listener('test') as unknown as { head: { bytesIn: number } }).head
    t.equal(newest.bytesIn, 0, 'nothing was read from the waiting client (its bytes wait in the kernel)')
    first.sock.destroy()
    await until('the whole payload echoed back', () => waiting.got.length === 3 + payload.length, { deadlineMs: 5000 })
    t.equal(waiting.got, 'b0\n' + payload, 'every byte, in order, after the greeting')
    t.equal(bes[0].accepted, 2)
  })

  t.test('a full queue refuses at once; a waiting client is reset after timeouts.queue', async (t) => {
    const { lb, port, lines } = await setup(t, { pool: { 'max-queue': 2 }, backend: () => ({ maxconn: 1 }), top: { timeouts: { queue: '400ms' } } }, 1)
    const holder = await client(port, lb)
    t.teardown(() => holder.sock.destroy())
    await until('holder served', () => served(holder))
    const w1 = await client(port, lb)
    const w2 = await client(port, lb)
    const t0 = Date.now()
    const refused = await ending(net.connect({ port, host: '127.0.0.1' }))
    t.equal(seen(refused), 'reset', 'the third waiting client is refused with a reset')
    t.ok(Date.now() - t0 < 300, `at once (${Date.now() - t0} ms), not after timeouts.queue`)
    t.equal(poolStats(lb).queueRefused, 1)
    await until('both waiting clients reset', () => w1.closed && w2.closed, { deadlineMs: 3000 })
    const waited = Date.now() - t0
    t.ok(waited >= 300, `after about timeouts.queue (${waited} ms)`)
    t.equal(w1.got + w2.got, '', 'they got nothing')
    const p = poolStats(lb)
    t.equal(p.queueTimeouts, 2)
    t.equal(p.queued, 0)
    await until('their connection lines', () => lines.filter((l) => l.reason === 'queue-timeout').length === 2)
    t.match(lines.filter((l) => l.reason === 'queue-timeout'), [{ flags: 'sQ', backend: null }, { flags: 'sQ', backend: null }])
    t.ok(lines.some((l) => l.reason === 'no-backend'), 'the refused one is logged no-backend')
    t.equal(served(holder), true, 'the holder is untouched')
  })

  t.test('without max-queue (the default) a client past maxconn is refused at once, as before', async (t) => {
    const { lb, port } = await setup(t, { backend: () => ({ maxconn: 1 }) }, 1)
    const holder = await client(port, lb)
    t.teardown(() => holder.sock.destroy())
    await until('holder served', () => served(holder))
    t.equal(seen(await ending(net.connect({ port, host: '127.0.0.1' }))), 'reset')
    t.equal(poolStats(lb).queueRefused, 0, 'no queue: nothing counted as refused by it')
  })

  t.test('abort-on-close: clients that close while waiting leave the queue; no backend connects for them', async (t) => {
    const { lb, port, bes, lines } = await setup(t, { pool: { 'max-queue': 8, 'abort-on-close': true }, backend: () => ({ maxconn: 2 }), top: { timeouts: { queue: '20s' } } })
    const holders: Client[] = []
    t.teardown(() => holders.forEach((c) => c.sock.destroy()))
    for (let i = 0; i < 4; i++) holders.push(await client(port, lb))
    await until('both backends at maxconn', () => holders.every(served))
    const leavers: Client[] = []
    for (let i = 0; i < 3; i++) leavers.push(await client(port, lb))
    const stayer = await client(port, lb)
    t.teardown(() => stayer.sock.destroy())
    for (const c of leavers) c.sock.end('CONNECT gone.example:443 HTTP/1.1\r\n\r\n') // a request, then FIN: the client gave up
    await until('the three leave the queue', () => poolStats(lb).queued === 1)
    t.equal(poolStats(lb).queueAborted, 3, 'counted as aborted')
    await until('their connection lines', () => lines.filter((l) => l.reason === 'client-closed-early').length === 3)
    t.match(lines.filter((l) => l.reason === 'client-closed-early'), [{ flags: 'CC', backend: null }, { flags: 'CC', backend: null }, { flags: 'CC', backend: null }])
    const accepted = bes.reduce((n, b) => n + b.accepted, 0)
    holders[0].sock.destroy()
    holders[1].sock.destroy()
    await until('the client still waiting gets the freed slot', () => served(stayer))
    await holdFor(100)
    t.equal(bes.reduce((n, b) => n + b.accepted, 0), accepted + 1, 'one backend connection for the one client still there, none for those that left')
    t.equal(poolStats(lb).queued, 0)
  })

  t.test('abort-on-close: bytes sent while waiting are held and all arrive, in order', async (t) => {
    const { lb, port } = await setup(t, { pool: { 'max-queue': 5, 'abort-on-close': true }, backend: () => ({ maxconn: 1 }) }, 1)
    const first = await client(port, lb)
    t.teardown(() => first.sock.destroy())
    await until('first served', () => served(first))
    const waiting = await client(port, lb)
    t.teardown(() => waiting.sock.destroy())
    const payload = 'y'.repeat(200_000) + '\n' // more than is held: the rest waits in the kernel
    waiting.sock.write(payload)
    await holdFor(200)
    t.equal(poolStats(lb).queued, 1, 'it waits')
    first.sock.destroy()
    await until('the whole payload echoed back', () => waiting.got.length === 3 + payload.length, { deadlineMs: 5000 })
    t.equal(waiting.got, 'b0\n' + payload, 'every byte, in order, after the greeting')
  })

  t.test('without abort-on-close, a client that sends its request and half-closes while waiting still gets its answer', async (t) => {
    const { lb, port } = await setup(t, { pool: { 'max-queue': 5 }, backend: () => ({ maxconn: 1 }) }, 1)
    const first = await client(port, lb)
    t.teardown(() => first.sock.destroy())
    await until('first served', () => served(first))
    const half = await client(port, lb)
    t.teardown(() => half.sock.destroy())
    half.sock.end('request\n') // shutdown(SHUT_WR) after the request, as some clients do
    await holdFor(200)
    t.equal(poolStats(lb).queued, 1, 'it still waits')
    first.sock.destroy()
    await until('its answer: the greeting and its request echoed', () => half.got === 'b0\nrequest\n')
    t.equal(poolStats(lb).queueAborted, 0)
  })
})

// Stage 3 of the native engine: the pump accepts on plain listeners and
// JavaScript answers each batch of accepted clients in one crossing. Native
// only (the JavaScript engine's accept is what every other test exercises):
// clients over IPv4 and ::1 are accepted natively with their own addresses in
// the log lines and hashed on them; a burst of accepts is answered in fewer
// crossings than clients; maxconn refuses with a reset; drain closes the
// socket with sessions untouched; a reload that makes the listener ineligible
// gives its socket back to JavaScript (and a later one takes it again)
// without losing a connection; listeners that must read first bytes keep
// JavaScript's accept; a client the pump cannot take is served by JavaScript.
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import t from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { nativePump, useEngine } from '../helpers/engines.ts'
import { buildConfig } from '../helpers/config.ts'
import { captureLog, connect, countBy } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

type T = { teardown(fn: () => unknown): void }

useEngine(t, 'native')
const pump = nativePump

async function backends(t: T, n: number): Promise<FixtureBackend[]> {
  const out = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`)))
  t.teardown(() => Promise.all(out.map((b) => b.close())))
  return out
}

async function engine(t: T, cfg: ReturnType<typeof buildConfig>): Promise<{ lb: Engine; port: number; closed: () => Record<string, unknown>[] }> {
  const cap = captureLog()
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(500))
  return { lb, port: lb.listener('test')!.address()!.port, closed: () => cap.lines.filter((l) => l.msg === 'connection closed') }
}

/** Connect to host:port from `localAddress`, read the backend's name line, then close. */
function nameFrom(host: string, port: number, localAddress: string): Promise<{ name: string; port: number }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, localAddress })
    let buf = ''
    const timer = setTimeout(() => sock.destroy(new Error('no name within 5 s')), 5000)
    sock.setEncoding('latin1')
    sock.on('data', (d: string) => {
      buf += d
      if (buf.includes('\n')) {
        const local = sock.localPort!
        sock.end()
        clearTimeout(timer)
        resolve({ name: buf.slice(0, buf.indexOf('\n')), port: local })
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

t.test('clients over IPv4 and ::1 are accepted natively: their own addresses in the log lines, hashed on them', async (t) => {
  const p = pump()
  const bes = await backends(t, 3)
  for (const [family, bind, host] of [['IPv4', '127.0.0.1:0', '127.0.0.1'], ['IPv6', '[::1]:0', '::1']] as const) {
    const { lb, port, closed } = await engine(t, buildConfig(bes, { listener: { bind }, pool: { policy: 'maglev', 'hash-key': 'src-ip' } }))
    t.ok(lb.listener('test')!.listening, `${family}: listening`)
    const before = p.counters.accepted
    const sources = family === 'IPv4' ? Array.from({ length: 12 }, (_, i) => `127.0.0.${10 + i}`) : ['::1']
    const seen = new Map<string, Set<string>>()
    const ports = new Set<string>()
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(sources.map((src) => nameFrom(host, port, src)))
      got.forEach((g, i) => {
        const set = seen.get(sources[i]!) ?? new Set()
        set.add(g.name)
        seen.set(sources[i]!, set)
        ports.add(`${sources[i]}:${g.port}`)
      })
    }
    const n = sources.length * 3
    await until(`${family}: ${n} log lines`, () => closed().length >= n)
    t.equal(p.counters.accepted - before, n, `${family}: every client was accepted by the pump`)
    t.ok([...seen.values()].every((s) => s.size === 1), `${family}: each client address always reached the same backend (maglev on src-ip)`)
    if (family === 'IPv4') t.ok(new Set([...seen.values()].map((s) => [...s][0])).size > 1, 'and different addresses spread over backends')
    const logged = new Set(closed().map((l) => String(l.client)))
    const want = [...ports].map((a) => (family === 'IPv6' ? `[${a.slice(0, a.lastIndexOf(':'))}]:${a.slice(a.lastIndexOf(':') + 1)}` : a))
    t.same(want.filter((a) => !logged.has(a)), [], `${family}: every log line names its client's address and port`)
    await lb.shutdown(500)
  }
})

t.test('a burst of accepts is answered in fewer crossings than clients', async (t) => {
  const p = pump()
  const bes = await backends(t, 2)
  const { port, closed } = await engine(t, buildConfig(bes))
  const N = 60
  // Clients connect from a worker thread while this thread is busy, so the
  // pump accepts them all before JavaScript can answer: they wait in one batch.
  const count = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(
    `const net = require('node:net'); const { workerData: { port, n, count } } = require('node:worker_threads')
     const socks = []
     for (let i = 0; i < n; i++) { const s = net.connect(port, '127.0.0.1', () => Atomics.add(count, 0, 1)); s.on('error', () => {}); socks.push(s) }
     require('node:worker_threads').parentPort.on('message', () => { for (const s of socks) s.destroy(); process.exit(0) })`,
    { eval: true, workerData: { port, n: N, count } },
  )
  t.teardown(() => worker.terminate())
  const before = { accepted: p.counters.accepted, decides: p.counters.decides }
  const until5s = Date.now() + 5000
  while (Atomics.load(count, 0) < N && Date.now() < until5s) Atomics.wait(count, 0, Atomics.load(count, 0), 5) // blocks this thread, bounded
  t.equal(Atomics.load(count, 0), N, `${N} clients connected (accepted by the kernel) while JavaScript was busy`)
  await until('the pump accepted them all', () => p.counters.accepted - before.accepted >= N)
  const accepted = p.counters.accepted - before.accepted
  const crossings = p.counters.decides - before.decides
  t.equal(accepted, N, 'every client was accepted natively')
  t.ok(crossings >= 1 && crossings <= 3, `${accepted} accepts answered in ${crossings} crossing(s)`)
  worker.postMessage('close')
  await until('their log lines', () => closed().length >= N)
  t.same(countBy(closed().map((l) => String(l.backend))), { b0: N / 2, b1: N / 2 }, 'round robin over the batch, as JavaScript picked it')
})

t.test('maxconn: a client past the share is reset, counted as rejected, and never reaches a backend', async (t) => {
  const p = pump()
  const bes = await backends(t, 1)
  const { lb, port } = await engine(t, buildConfig(bes, { listener: { maxconn: 2 } }))
  const before = p.counters.accepted
  const a = await connect(port)
  const b = await connect(port)
  await until('both served', () => bes[0]!.accepted === 2)
  const c = net.connect(port, '127.0.0.1')
  const err = await new Promise<string>((resolve) => {
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    c.on('close', () => resolve('closed'))
  })
  t.equal(err, 'ECONNRESET', 'the third client is reset')
  t.equal(lb.listener('test')!.counters.rejected, 1, 'counted as rejected')
  t.equal(bes[0]!.accepted, 2, 'the backend never saw it')
  t.equal(p.counters.accepted - before, 3, 'all three were accepted by the pump')
  a.destroy()
  b.destroy()
  await until('slots free', () => lb.listener('test')!.active === 0)
  const d = await nameFrom('127.0.0.1', port, '127.0.0.1')
  t.equal(d.name, 'b0', 'below maxconn again, a client is served')
})

t.test('drain: the socket stops listening at once, established sessions carry on', async (t) => {
  const bes = await backends(t, 1)
  const { lb, port } = await engine(t, buildConfig(bes))
  const held = await connect(port)
  const first = await new Promise<string>((r) => held.once('data', (d: Buffer) => r(d.toString())))
  t.equal(first, 'b0\n', 'a session is established')
  await lb.listener('test')!.stopAccepting()
  t.notOk(lb.listener('test')!.listening, 'no longer listening')
  const code = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    s.on('connect', () => {
      s.destroy()
      resolve('connected')
    })
  })
  t.equal(code, 'ECONNREFUSED', 'a new client is refused')
  held.write('still here')
  const echo = await new Promise<string>((r) => held.once('data', (d: Buffer) => r(d.toString())))
  t.equal(echo, 'still here', 'the established session still carries data')
  held.destroy()
})

t.test('a reload that makes the listener ineligible gives the socket back to JavaScript, and back again, losing no client', async (t) => {
  const p = pump()
  const bes = await backends(t, 2)
  const cfg = buildConfig(bes)
  const { lb, port } = await engine(t, cfg)
  const observe = buildConfig(bes, { pool: { observe: 'http-connect' } })
  let stop = false
  let served = 0
  const failures: string[] = []
  // Four streams of clients, one after another each, from several sources while the listener switches engines.
  const load = Promise.all([0, 1, 2, 3].map(async (k) => {
    for (let i = k; !stop && i < 5000; i += 4) {
      try {
        const r = await nameFrom('127.0.0.1', port, `127.0.1.${1 + (i % 50)}`)
        if (r.name === 'b0' || r.name === 'b1') served++
        else failures.push(`got ${r.name}`)
      } catch (e) {
        failures.push((e as Error).message)
      }
    }
  }))
  await until('clients are served natively', () => served >= 5)
  const n0 = p.counters.accepted
  t.ok(n0 > 0, 'the pump accepts')
  await lb.applyConfig({ ...observe, log: cfg.log })
  const s1 = served
  await until('clients in flight at the switch are served', () => served >= s1 + 5)
  const a1 = p.counters.accepted // the pump let go of the socket by now (it had accepted only clients already in flight)
  await until('clients are served after the switch to JavaScript', () => served >= s1 + 20)
  t.equal(p.counters.accepted, a1, 'JavaScript accepts now')
  t.ok(lb.listener('test')!.listening, 'listening on JavaScript')
  await lb.applyConfig({ ...cfg, log: cfg.log })
  const s2 = served
  await until('clients are served after the switch back', () => served >= s2 + 10)
  t.ok(p.counters.accepted > a1 + 5, 'the pump accepts again')
  stop = true
  await load
  t.same(failures, [], `no client was lost across two switches (${served} served)`)
})

t.test('listeners that read first bytes keep JavaScript accept (the seam): PROXY headers, connect-authority, observe', async (t) => {
  const p = pump()
  const bes = await backends(t, 1)
  for (const [what, over, hello] of [
    ['proxy-protocol accept', { listener: { 'proxy-protocol': { accept: true, trusted: ['127.0.0.0/8'] } } }, 'PROXY TCP4 198.18.0.7 198.18.0.1 40000 80\r\n'],
    ['hash-key connect-authority', { pool: { 'hash-key': 'connect-authority', policy: 'maglev' } }, 'CONNECT example.test:443 HTTP/1.1\r\n\r\n'],
    ['observe http-connect', { pool: { observe: 'http-connect' } }, ''],
  ] as const) {
    const { lb, port } = await engine(t, buildConfig(bes, over))
    const before = p.counters.accepted
    const name = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => void (hello && s.write(hello)))
      let buf = ''
      s.setEncoding('latin1')
      s.on('data', (d: string) => {
        buf += d
        if (buf.includes('\n')) {
          s.destroy()
          resolve(buf.slice(0, buf.indexOf('\n')))
        }
      })
      s.on('error', reject)
    })
    t.equal(name, 'b0', `${what}: served`)
    t.equal(p.counters.accepted, before, `${what}: accepted by JavaScript, not the pump`)
    await lb.shutdown(200)
  }
})

t.test('clients the pump cannot take at decide are served by JavaScript, counted as fallbacks', async (t) => {
  const p = pump()
  const bes = await backends(t, 1)
  const { port, closed } = await engine(t, buildConfig(bes))
  // The pump refuses every decision (as when out of slots or descriptors): the descriptors stay JavaScript's.
  const addon = (p as unknown as { addon: { decide: (r: Float64Array) => Float64Array } }).addon
  const real = addon.decide
  addon.decide = (r: Float64Array) => new Float64Array(r.length / 6).fill(-24)
  t.teardown(() => {
    addon.decide = real
  })
  const before = { accepted: p.counters.accepted, fallbacks: p.counters.fallbacks }
  const got = await Promise.all(Array.from({ length: 5 }, (_, i) => nameFrom('127.0.0.1', port, `127.0.2.${i + 1}`)))
  t.same(got.map((g) => g.name), ['b0', 'b0', 'b0', 'b0', 'b0'], 'every client was served')
  t.equal(p.counters.accepted - before.accepted, 5, 'accepted by the pump')
  t.equal(p.counters.fallbacks - before.fallbacks, 5, 'each counted once as a fallback')
  await until('their log lines', () => closed().length === 5)
  t.same(closed().map((l) => String(l.client).split(':')[0]).sort(), ['127.0.2.1', '127.0.2.2', '127.0.2.3', '127.0.2.4', '127.0.2.5'], 'with their own addresses')
})

t.test('a reload to engine: js hands the listening socket back to JavaScript; its native sessions carry on', async (t) => {
  const p = pump()
  const env = process.env.L4LB_ENGINE
  delete process.env.L4LB_ENGINE // the config's `engine` decides here
  t.teardown(() => {
    process.env.L4LB_ENGINE = env
  })
  const bes = await backends(t, 1)
  const native = buildConfig(bes, { top: { engine: 'native' } })
  const { lb, port } = await engine(t, native)
  const before = p.counters.accepted
  const held = await connect(port)
  t.equal(await new Promise<string>((r) => held.once('data', (d: Buffer) => r(d.toString()))), 'b0\n', 'a session accepted natively')
  t.equal(p.counters.accepted - before, 1)
  await lb.applyConfig({ ...buildConfig(bes, { top: { engine: 'js' } }), log: native.log })
  t.equal(lb.engine.engine, 'js', 'the engine is js now')
  await until('a client is served', async () => (await nameFrom('127.0.0.1', port, '127.0.0.1')).name === 'b0')
  const after = p.counters.accepted
  const names = await Promise.all(Array.from({ length: 5 }, (_, i) => nameFrom('127.0.0.1', port, `127.0.3.${i + 1}`)))
  t.same(names.map((n) => n.name), ['b0', 'b0', 'b0', 'b0', 'b0'], 'new clients are served')
  t.equal(p.counters.accepted, after, 'by JavaScript: the pump accepts no more')
  held.write('still here')
  t.equal(await new Promise<string>((r) => held.once('data', (d: Buffer) => r(d.toString()))), 'still here', 'the native session carries on')
  held.destroy()
})

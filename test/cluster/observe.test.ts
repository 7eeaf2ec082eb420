// `observe: http-connect` on a real forked primary with a worker, both
// engines: a forward proxy that answers 503 to every CONNECT while its TCP
// port stays open is ejected by passive health (a TCP-level view sees only
// successful connects); one answering 200 is not; a status line split across
// packets counts; an answer that is not HTTP counts as neither. The client
// always gets the proxy's answer unchanged. Health checks are off, so only
// the observed answers can move a backend.
import net from 'node:net'
import { type FixtureBackend, startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { holdFor, until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'

const POOL = {
  policy: 'round-robin',
  observe: 'http-connect',
  passive: { consecutive: 3, 'base-ejection': '30s', 'max-ejection-percent': 50 },
  health: { type: 'none' },
}
const REQ = 'CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n'

/** One tunnel attempt through the balancer: everything the client received until the proxy closed, named itself after its answer, or echoed the request (`name` mode). */
async function tunnel(port: number, done = (got: string) => /\r\n\r\n\w+\n$/.test(got) || got.endsWith(REQ)): Promise<string> {
  const sock = net.connect({ port, host: '127.0.0.1' })
  let got = ''
  let closed = false
  sock.setEncoding('latin1')
  sock.on('data', (d: string) => (got += d))
  sock.on('error', () => {})
  sock.on('close', () => (closed = true))
  try {
    sock.write(REQ)
    await until('the answer', () => closed || done(got), { deadlineMs: 5000 })
    return got
  } finally {
    sock.destroy()
  }
}

/** A proxy stand-in that answers every CONNECT with `HTTP/1.1 5` + `03 ...` in two packets 30 ms apart, then closes. */
async function splitter(): Promise<{ port: number; accepted: number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>()
  const s = { port: 0, accepted: 0, close: () => new Promise<void>((r) => { socks.forEach((x) => x.destroy()); server.close(() => r()) }) }
  const server = net.createServer((sock) => {
    s.accepted++
    socks.add(sock)
    sock.on('error', () => {})
    sock.once('data', () => {
      sock.write('HTTP/1.1 5')
      setTimeout(() => sock.end('03 Service Unavailable\r\n\r\n'), 30)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  s.port = (server.address() as net.AddressInfo).port
  return s
}

forEachEngine((t) => {
  t.test('a proxy answering 503 to every CONNECT (TCP port open) is ejected; the one answering 200 serves all', async (t) => {
    const bad = await startBackend('bad', 'connect')
    const good = await startBackend('good', 'connect')
    bad.connectStatus = 503
    t.teardown(() => Promise.all([bad.close(), good.close()]))
    const lb = await startCluster({ workers: 1, backends: [bad, good], pool: POOL })
    t.teardown(() => lb.stop())
    const answers: string[] = []
    for (let i = 0; i < 6; i++) answers.push(await tunnel(lb.port))
    t.ok(answers.some((a) => a.startsWith('HTTP/1.1 503 ')), 'clients got the 503 answer as the proxy sent it')
    await until('bad ejected', async () => (await lb.status()).pools[0].backends.find((b) => b.id === 'bad')!.state === 'down', { deadlineMs: 3000, intervalMs: 25 })
    // The operator reads why in the timeline and the log: the proxy's answer, not a "connect failure" it never had.
    const events = (JSON.parse((await lb.admin('GET', '/history')).body) as { events: { backend: string; to: string; reason: string }[] }).events
    t.equal(events.find((e) => e.backend === 'bad' && e.to === 'ejected')?.reason, 'passive: 3 consecutive failures (last: CONNECT 503)', 'the ejection names the answer')
    const accepted = bad.accepted
    const after: string[] = []
    for (let i = 0; i < 6; i++) after.push(await tunnel(lb.port))
    t.same(after.filter((a) => !a.startsWith('HTTP/1.1 200 ')), [], 'every later tunnel established through good')
    t.equal(bad.accepted, accepted, 'no new tunnel to the ejected proxy')
    // Workers report their counters every second.
    const metric = (text: string, name: string, id: string): number => Number(new RegExp(`^${name}\\{[^}]*backend="${id}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? -1)
    await until('the observed answers in /metrics', async () => {
      const text = (await lb.admin('GET', '/metrics')).body
      return metric(text, 'l4lb_backend_observed_failures_total', 'bad') >= 3 && metric(text, 'l4lb_backend_observed_success_total', 'good') >= 9
    }, { deadlineMs: 5000, intervalMs: 100 })
  })

  t.test('proxies answering 200, or not speaking HTTP at all, are never ejected', async (t) => {
    const a = await startBackend('a', 'connect')
    const b = await startBackend('b', 'name') // answers "b\n": neither success nor failure
    t.teardown(() => Promise.all([a.close(), b.close()]))
    const lb = await startCluster({ workers: 1, backends: [a, b], pool: POOL })
    t.teardown(() => lb.stop())
    for (let i = 0; i < 12; i++) await tunnel(lb.port)
    await holdFor(300) // reports reach the primary within milliseconds
    const states = (await lb.status()).pools[0].backends.map((x) => x.state)
    t.same(states, ['ready', 'ready'], 'both still ready after 6 tunnels each')
    t.equal(a.accepted + b.accepted, 12)
  })

  t.test('a 503 status line split across packets counts as a failure', async (t) => {
    const split = await splitter()
    const good = await startBackend('good', 'connect')
    t.teardown(() => Promise.all([split.close(), good.close()]))
    const lb = await startCluster({ workers: 1, backends: [{ name: 'split', port: split.port } as FixtureBackend, good], pool: POOL })
    t.teardown(() => lb.stop())
    const answers: string[] = []
    for (let i = 0; i < 6; i++) answers.push(await tunnel(lb.port))
    t.ok(answers.includes('HTTP/1.1 503 Service Unavailable\r\n\r\n'), 'the split answer reached the client whole')
    await until('split ejected', async () => (await lb.status()).pools[0].backends.find((b) => b.id === 'split')!.state === 'down', { deadlineMs: 3000, intervalMs: 25 })
  })
}, { inProcess: false })

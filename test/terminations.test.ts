// Every termination reason the registry (src/errors.ts) lists as live is
// produced here on real sockets, once each, and logged with its flag. The
// table of producers must cover exactly the live reasons: a new reason fails
// this test until it can be produced (or is retired). docs/errors.md's endings
// table (test/proxy/endings.test.ts) checks what each peer sees; this checks
// that the registry holds no reason the data path cannot give.
import net from 'node:net'
import t from 'tap'
import { LIVE_TERMINATIONS, TERMINATIONS, type Termination } from '../src/errors.ts'
import { Engine } from '../src/proxy/engine.ts'
import { type FixtureBackend, refusedPort, startBackend } from './fixtures/backend.ts'
import { startBlackhole } from './hardening/blackhole.ts'
import { logged } from './hardening/helpers.ts'
import { ending } from './helpers/endings.ts'
import { captureLog, connect } from './helpers/lb.ts'
import { buildConfig } from './helpers/config.ts'
import { until } from './helpers/until.ts'

type T = { teardown(fn: () => unknown): void }
type Lines = () => Record<string, unknown>[]

async function backend(t: T, name: string, mode: FixtureBackend['mode']): Promise<FixtureBackend> {
  const be = await startBackend(name, mode)
  t.teardown(() => be.close())
  return be
}

/** Each producer ends one session with its reason; returns the log lines to look in. */
const PRODUCERS: Record<Termination, (t: T) => Promise<Lines>> = {
  'client-closed': async (t) => {
    const { port, cap } = await logged(t, [await backend(t, 'n', 'name')])
    const sock = await connect(port)
    const end = ending(sock)
    sock.end('hi')
    await end
    return () => cap.lines
  },
  'server-closed': async (t) => {
    const { port, cap } = await logged(t, [await backend(t, 'c', 'close')])
    await ending(await connect(port)) // answers the server's FIN with its own
    return () => cap.lines
  },
  'client-reset': async (t) => {
    const be = await backend(t, 's', 'silent')
    const { port, cap } = await logged(t, [be])
    const sock = await connect(port)
    sock.on('error', () => {})
    sock.write('part of a request')
    await until('the backend to receive the first bytes', () => be.firstBytes.length === 1)
    sock.resetAndDestroy()
    return () => cap.lines
  },
  'server-reset': async (t) => {
    const { port, cap } = await logged(t, [await backend(t, 'r', 'reset')], { pool: { retries: 0 } })
    await ending(await connect(port))
    return () => cap.lines
  },
  'idle-timeout': async (t) => {
    const { port, cap } = await logged(t, [await backend(t, 'st', 'stall')], { top: { timeouts: { connect: '1s', idle: '300ms', 'half-closed': '10s' } } })
    const sock = await connect(port)
    sock.write('hello?')
    await ending(sock)
    return () => cap.lines
  },
  'half-closed-timeout': async (t) => {
    const { port, cap } = await logged(t, [await backend(t, 'si', 'silent')], { top: { timeouts: { connect: '1s', idle: '10s', 'half-closed': '300ms' } } })
    const sock = await connect(port)
    const end = ending(sock)
    sock.end('request')
    await end
    return () => cap.lines
  },
  'connect-failed': async (t) => {
    const { port, cap } = await logged(t, [{ name: 'gone', port: await refusedPort() }], { pool: { retries: 0 } })
    // Not awaiting the connect: accepted natively, the reset may land before the client saw its connect complete.
    await ending(net.connect({ port, host: '127.0.0.1' }))
    return () => cap.lines
  },
  'no-backend': async (t) => {
    const be = await backend(t, 'w0', 'name')
    const cap = captureLog()
    const lb = new Engine(buildConfig([be], { backend: () => ({ weight: 0 }) }), { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    await ending(net.connect({ port: lb.listener('test')!.address()!.port, host: '127.0.0.1' }))
    return () => cap.lines
  },
  'client-closed-early': async (t) => {
    // The backend's accept queue is full, so the balancer's connect hangs in
    // SYN-SENT (connect timeout 10 s) while the client gives up (resets).
    const hole = await startBlackhole()
    t.teardown(() => hole.close())
    const { port, cap, lb } = await logged(t, [{ name: 'hole', port: hole.port }], { pool: { retries: 0 }, top: { timeouts: { connect: '10s', idle: '10s', 'half-closed': '10s' } } })
    const sock = await connect(port)
    sock.on('error', () => {})
    sock.write('early bytes')
    await until('the session to be connecting', () => lb.activeSessions() === 1)
    sock.resetAndDestroy() // a FIN alone would wait for the connect: held bytes may still go
    return () => cap.lines
  },
  'queue-timeout': async (t) => {
    // One slot (maxconn 1), held by a first client; the second waits in the queue past timeouts.queue.
    const be = await backend(t, 'q', 'silent')
    const { port, cap } = await logged(t, [be], { pool: { 'max-queue': 1 }, backend: () => ({ maxconn: 1 }), top: { timeouts: { queue: '300ms' } } })
    const first = await connect(port)
    first.on('error', () => {})
    await until('the first client to hold the slot', () => be.accepted === 1)
    await ending(await connect(port))
    return () => cap.lines
  },
  'connect-line-timeout': async (t) => {
    // hash-key connect-authority: a CONNECT line begun and never finished is reset at timeouts.connect-line.
    const be = await backend(t, 'cl', 'name')
    const { port, cap } = await logged(t, [be], { pool: { policy: 'maglev', 'hash-key': 'connect-authority' }, top: { timeouts: { 'connect-line': '300ms' } } })
    const sock = await connect(port)
    const end = ending(sock)
    sock.write('CONNECT example.com:44')
    await end
    return () => cap.lines
  },
  'hard-stop': async (t) => {
    const be = await backend(t, 'd', 'silent')
    const { lb, port, cap } = await logged(t, [be])
    const sock = await connect(port)
    await until('the backend to accept the connection', () => be.accepted === 1)
    const end = ending(sock)
    await lb.shutdown(200)
    await end
    return () => cap.lines
  },
}

t.same(Object.keys(PRODUCERS).sort(), [...LIVE_TERMINATIONS].sort(), 'one producer per live reason, and none for a retired one')

for (const reason of LIVE_TERMINATIONS) {
  t.test(reason, async (t) => {
    const lines = await PRODUCERS[reason](t)
    const closed = (): Record<string, unknown>[] => lines().filter((l) => l.msg === 'connection closed')
    t.ok(await until('a connection line to be logged', () => closed().length > 0), 'a connection line was logged')
    t.match(closed(), [{ reason, flags: TERMINATIONS[reason].flag }], `exactly one session, ended with ${reason} (${TERMINATIONS[reason].flag})`)
    t.equal(closed().length, 1)
  })
}

// A step of the wall clock (NTP correcting a drifted clock, an operator's
// `date -s`) must not end connections or skew what is logged: timeouts and
// durations run on a monotonic clock, as HAProxy's `now_ms` does. On a clock
// that read Date.now(), a step of an hour made every live connection look idle
// for an hour at the next sweep (idle-timeout) and logged durations an hour long.
import net from 'node:net'
import { forEachEngine } from '../helpers/engines.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { startBackend } from '../fixtures/backend.ts'
import { captureLog, connect } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import { buildConfig } from '../helpers/config.ts'

const HOUR_MS = 3_600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The next `n` bytes read from `sock` as text (rejects after 3 s). */
function read(sock: net.Socket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    const timer = setTimeout(() => reject(new Error(`read ${JSON.stringify(got)} of ${n} bytes in 3 s`)), 3000)
    const onData = (d: Buffer) => {
      got += d.toString()
      if (got.length < n) return
      clearTimeout(timer)
      sock.off('data', onData)
      resolve(got)
    }
    sock.on('data', onData)
  })
}

forEachEngine((t) => {
  t.test('a wall-clock step of an hour neither times out a live connection nor skews its logged duration', async (t) => {
    const be = await startBackend('step', 'echo')
    t.teardown(() => be.close())
    const cap = captureLog()
    const cfg = buildConfig([be], { top: { timeouts: { connect: '1s', idle: '2s', 'half-closed': '2s' } } })
    const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const sock = await connect(lb.listener('test')!.address()!.port)
    t.teardown(() => sock.destroy())
    sock.write('a')
    t.equal(await read(sock, 1), 'a', 'echoed before the step')

    const realNow = Date.now
    Date.now = () => realNow() + HOUR_MS
    t.teardown(() => (Date.now = realNow))
    await sleep(300) // several sweeps (50 ms ticks) on the stepped clock
    sock.write('b')
    t.equal(await read(sock, 1), 'b', 'still proxied after the step')
    sock.end()
    await until('the connection-closed log line', () => cap.lines.some((l) => l.msg === 'connection closed'))
    Date.now = realNow
    const line = cap.lines.find((l) => l.msg === 'connection closed')!
    t.equal(line.reason, 'client-closed', 'ended by the client, not by a timeout')
    t.ok(typeof line.durationMs === 'number' && line.durationMs >= 0 && line.durationMs < 60_000, `durationMs ${line.durationMs} is the connection's real age`)
  })
})

// The hand-off from JavaScript to the native pump loses nothing: bytes that
// race it both ways (a client writing from its first instant, a backend
// greeting at once) arrive complete and in order, many times over; and a
// session the pump cannot take stays on JavaScript, works, and is counted.
import { createHash } from 'node:crypto'
import net from 'node:net'
import t from 'tap'
import { forEachEngine } from '../helpers/engines.ts'
import { NativePump, type NativeAddon } from '../../src/proxy/native-engine.ts'
import { captureLog, pooled, readAll, startBalancer } from '../helpers/lb.ts'
import { buildConfig } from '../helpers/config.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { until } from '../helpers/until.ts'

const GREETING = 48 * 1024 // the backend writes this at once, racing the hand-off the other way

/** A backend that greets with GREETING patterned bytes at once, echoes, and ends after the client's FIN. */
async function greetingEcho(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {})
    s.write(pattern(GREETING, 7))
    s.pipe(s)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) }
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** One connection: write `parts` chunks from the first instant, one per event-loop turn, then FIN; return what came back. */
async function race(port: number, parts: number, seed: number): Promise<{ sent: Buffer; got: Buffer }> {
  const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  sock.on('error', () => {})
  const got = readAll(sock)
  const chunks: Buffer[] = []
  for (let i = 0; i < parts; i++) {
    // Every third connection opens with 200 KB: past HOLD_MAX the client is paused while
    // connecting, so bytes JavaScript read but did not forward wait in its buffer at the hand-off.
    const c = pattern(i === 0 && seed % 3 === 0 ? 200 * 1024 : 100 + ((seed * 7 + i * 13) % 3000), seed + i)
    chunks.push(c)
    sock.write(c) // the first ones are written while connecting: held, then raced with the hand-off
    await new Promise((r) => setImmediate(r))
  }
  sock.end()
  return { sent: Buffer.concat(chunks), got: await got }
}

forEachEngine((t) => {
  t.test('data racing the hand-off both ways arrives whole and in order, 300 times', async (t) => {
    const be = await greetingEcho()
    t.teardown(() => be.close())
    const { lb, port } = await startBalancer(buildConfig([{ name: 'greet', port: be.port } as never]))
    t.teardown(() => lb.shutdown(500))
    const deadline = Date.now() + 60_000
    const results = await pooled(300, 20, async (i) => (Date.now() > deadline ? null : race(port, 1 + (i % 12), i)))
    const ran = results.filter((r) => r !== null)
    const bad = ran.filter((r) => sha(r.got) !== sha(Buffer.concat([pattern(GREETING, 7), r.sent])))
    t.ok(ran.length >= 100, `${ran.length} connections raced the hand-off within the time bound`)
    t.equal(bad.length, 0, 'every connection got the greeting, then its own bytes echoed, complete and in order')
  })
})

/** An addon that refuses every session (as when it is out of descriptors or slots). */
function refusingAddon(): NativeAddon & { calls: number; adopts: number; connects: number } {
  return {
    calls: 0,
    adopts: 0,
    connects: 0,
    start() {},
    adopt() {
      this.calls++
      this.adopts++
      return -24 // -EMFILE
    },
    connect() {
      this.calls++
      this.connects++
      return -24
    },
    retry: () => -24,
    kill() {},
    retime() {},
    ref() {},
    owned: () => 0,
    held: () => 0,
    sample() {},
    listen: () => -24, // stage 3 refused too: JavaScript accepts
    unlisten: () => 0,
    decide: () => new Float64Array(0),
  }
}

// Not per engine: this test puts its own (refusing) pump in place, asked at the
// connect (stage 2) or at the hand-off after JavaScript connected (stage 1).
for (const stage of [2, 1] as const) t.test(`stage ${stage}: a session the pump cannot take stays on JavaScript, is served whole, and is counted once`, async (t) => {
  const be = await greetingEcho()
  t.teardown(() => be.close())
  const cap = captureLog()
  const cfg = buildConfig([{ name: 'greet', port: be.port } as never])
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  const addon = refusingAddon()
  const pump = new NativePump(addon, 16)
  pump.connects = stage === 2
  lb.engine = { pump, engine: 'native', note: null }
  await lb.start()
  t.teardown(() => lb.shutdown(500))
  const port = [...lb.listeners.values()][0].address()!.port
  const r = await race(port, 6, 3)
  t.equal(sha(r.got), sha(Buffer.concat([pattern(GREETING, 7), r.sent])), 'served whole on JavaScript')
  t.equal(addon.calls, 1, 'the pump was asked once')
  t.equal(stage === 2 ? addon.connects : addon.adopts, 1, stage === 2 ? 'to connect' : 'to adopt')
  t.equal(pump.counters.fallbacks, 1, 'and the fallback counted')
  t.equal(pump.counters.adopted, 0)
  await until('the connection log line', () => cap.lines.some((l) => l.msg === 'connection closed'))
  t.match(cap.lines.find((l) => l.msg === 'connection closed'), { reason: 'client-closed', bytesIn: r.sent.length, bytesOut: GREETING + r.sent.length })
})

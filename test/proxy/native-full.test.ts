// A pump whose connection table is full: the client it cannot take is served
// by JavaScript (counted as a fallback), and the backend sees exactly one
// connection for it. Before, the pump's connect ran before its slot check, so
// the backend saw an extra connection opened and torn down at once.
// This file's process starts the pump with 2 slots (loadNative's first call wins).
import t from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { loadNative } from '../../src/proxy/engine-choice.ts'
import { startBackend } from '../fixtures/backend.ts'
import { useEngine } from '../helpers/engines.ts'
import { buildConfig } from '../helpers/config.ts'
import { connect, silent } from '../helpers/lb.ts'
import { holdFor } from '../helpers/until.ts'

const SLOTS = 2
const native = loadNative(SLOTS)
useEngine(t, 'native')

t.test('a client beyond the pump slots costs the backend one connection, not two', async (t) => {
  const pump = native.pump
  if (pump === null) throw new Error(`the native addon is not loaded: ${native.error}`)
  const be = await startBackend('b0')
  t.teardown(() => be.close())
  const lb = new Engine(buildConfig([be]), { log: silent })
  await lb.start()
  t.teardown(() => lb.shutdown(500))
  const port = lb.listener('test')!.address()!.port
  const line = (sock: import('node:net').Socket) => new Promise<string>((r) => sock.once('data', (d: Buffer) => r(d.toString())))

  const held = []
  for (let i = 0; i < SLOTS; i++) {
    const sock = await connect(port)
    t.teardown(() => sock.destroy())
    t.equal(await line(sock), 'b0\n', `client ${i + 1} served by the pump`)
    held.push(sock)
  }
  t.equal(pump.owned, SLOTS, 'the pump is full')
  const fallbacks = pump.counters.fallbacks
  const extra = await connect(port)
  t.teardown(() => extra.destroy())
  t.equal(await line(extra), 'b0\n', 'the next client is served all the same')
  t.equal(pump.counters.fallbacks - fallbacks, 1, 'by JavaScript, counted as a fallback')
  await holdFor(200) // an aborted extra connection would have reached the backend by now
  t.equal(be.ends.length, SLOTS + 1, `the backend accepted ${SLOTS + 1} connections`)
  extra.write('ping')
  t.equal(await line(extra), 'ping', 'and the fallback session carries data')
})

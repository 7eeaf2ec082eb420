// The native pump reads up to 1 MiB at a time (bulk speed), and what its reads
// leave held for peers that do not read is bounded for the whole pump: past
// PUMP_HELD_BUDGET (8 MiB, native/pump.h) every read is at most 64 KiB, so many
// stuck clients cost the pump what a 64 KiB buffer did, not 1 MiB each. This
// process's pump gets a budget of 0 (L4LB_PUMP_HELD_BUDGET, read when it
// starts), so every read of a stuck direction is a small one: with 1 MiB reads
// the same clients left 5.2 MiB held, over the bound below.
// Native only: the JavaScript engine's bound is its sockets' (splice.test.ts).
import net from 'node:net'
import t from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { nativePump, useEngine } from '../helpers/engines.ts'
import { buildConfig } from '../helpers/config.ts'
import { connect, silent } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

const CLIENTS = 24
const PER_CLIENT = 8 * 1024 * 1024 // what the backend writes to each, then FIN
const MiB = 1024 * 1024
const BOUND = CLIENTS * 64 * 1024 // budget 0: at most one small read held per stuck direction

process.env.L4LB_PUMP_HELD_BUDGET = '0' // before this process's pump starts (nativePump below)
useEngine(t, 'native')

t.test(`${CLIENTS} clients that do not read hold at most the pump's budget, and lose nothing`, async (t) => {
  const pump = nativePump()
  // A backend that floods every connection (respecting its own drain) with PER_CLIENT bytes.
  const server = net.createServer((s) => {
    const chunk = Buffer.alloc(256 * 1024, 7)
    let left = PER_CLIENT
    const push = (): void => {
      while (left > 0) {
        left -= chunk.length
        if (!s.write(chunk)) return void s.once('drain', push)
      }
      s.end()
    }
    s.on('error', () => {})
    push()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const lb = new Engine(buildConfig([{ name: 'flood', port: (server.address() as net.AddressInfo).port } as never]), { log: silent })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  const port = lb.listener('test')!.address()!.port

  const socks: net.Socket[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const sock = await connect(port)
    sock.pause() // never reads, for now
    t.teardown(() => sock.destroy())
    socks.push(sock)
  }
  await until('the pump carries them all', () => pump.owned >= CLIENTS)
  await holdFor(1000) // time for every stuck direction to fill its buffers and hold a read
  const held = pump.held()
  t.ok(held <= BOUND, `the pump holds ${(held / MiB).toFixed(1)} MiB for ${CLIENTS} stuck clients (bound ${(BOUND / MiB).toFixed(1)} MiB)`)

  const received = await Promise.all(
    socks.map(
      (sock) =>
        new Promise<number>((resolve) => {
          let n = 0
          sock.on('data', (d: Buffer) => void (n += d.length))
          sock.on('end', () => resolve(n))
          sock.resume()
        }),
    ),
  )
  t.same(received, Array(CLIENTS).fill(PER_CLIENT), 'every client got every byte once it read')
  await until('nothing held once they read', () => pump.held() === 0)
})

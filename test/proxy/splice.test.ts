// The splice: half-close both ways, byte integrity at volume, backpressure
// that keeps the balancer's buffers bounded, and held early bytes.
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import { forEachEngine } from '../helpers/engines.ts'
import { startBackend } from '../fixtures/backend.ts'
import { connect, readAll, startBalancer } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'
import { buildConfig } from '../helpers/config.ts'

forEachEngine((t, engine) => {
  t.test('half-close: client FIN, the backend still answers, the client gets it', async (t) => {
    // A backend that answers only after the client finished sending.
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      const parts: Buffer[] = []
      s.on('data', (d) => parts.push(d))
      s.on('end', () => {
        const got = Buffer.concat(parts).toString()
        setTimeout(() => s.end(`after FIN I still answer: ${got.length} bytes, "${got}"`), 50)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    t.teardown(() => new Promise<void>((r) => server.close(() => r())))
    const fake = { name: 'half', port: (server.address() as net.AddressInfo).port } as never
    const { lb, port } = await startBalancer(buildConfig([fake]))
    t.teardown(() => lb.shutdown(200))
    const sock = await connect(port)
    sock.end('question')
    const answer = (await readAll(sock)).toString()
    t.equal(answer, 'after FIN I still answer: 8 bytes, "question"')
  })

  t.test('half-close: server FIN while the client still sends', async (t) => {
    const received: Buffer[] = []
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.end('bye early\n') // FIN at once; keep reading
      s.on('data', (d) => received.push(d))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    t.teardown(() => new Promise<void>((r) => server.close(() => r())))
    const { lb, port } = await startBalancer(buildConfig([{ name: 's', port: (server.address() as net.AddressInfo).port } as never]))
    t.teardown(() => lb.shutdown(200))
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    const got: Buffer[] = []
    const ended = new Promise<void>((r) => sock.on('end', () => r()))
    sock.on('data', (d) => got.push(d))
    await ended
    sock.write('still talking after your FIN')
    sock.end()
    await until('the backend\'s answer after the client\'s FIN', () => Buffer.concat(received).toString() === 'still talking after your FIN')
    t.equal(Buffer.concat(got).toString(), 'bye early\n')
    t.equal(Buffer.concat(received).toString(), 'still talking after your FIN', 'the backend got bytes sent after its FIN')
  })

  t.test('integrity: 200 MB both ways, checksums equal', async (t) => {
    const echo = await startBackend('echo', 'echo')
    t.teardown(() => echo.close())
    const { lb, port } = await startBalancer(buildConfig([echo]))
    t.teardown(() => lb.shutdown(200))
    const total = 200 * 1024 * 1024
    const block = randomBytes(1024 * 1024)
    const sent = createHash('sha256')
    const got = createHash('sha256')
    const sock = await connect(port)
    let received = 0
    const done = new Promise<void>((resolve) => {
      sock.on('data', (d: Buffer) => {
        got.update(d)
        received += d.length
        if (received >= total) resolve()
      })
    })
    let written = 0
    let n = 0
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (written < total) {
          // vary the block so reordering would show
          const chunk = Buffer.from(block)
          chunk.writeUInt32BE(n++, 0)
          sent.update(chunk)
          written += chunk.length
          if (!sock.write(chunk)) return void sock.once('drain', pump)
        }
        resolve()
      }
      pump()
    })
    await done
    sock.destroy()
    t.equal(received, total, '200 MB came back')
    t.equal(got.digest('hex'), sent.digest('hex'), 'sha256 of what came back equals what was sent')
  })

  t.test('backpressure: a client that does not read keeps the balancer bounded', async (t) => {
    // A backend that writes as fast as it may (respecting its own drain).
    let pushed = 0
    const server = net.createServer((s) => {
      const chunk = Buffer.alloc(64 * 1024, 7)
      const pump = (): void => {
        while (pushed < 256 * 1024 * 1024) {
          pushed += chunk.length
          if (!s.write(chunk)) return void s.once('drain', pump)
        }
        s.end()
      }
      s.on('error', () => {})
      pump()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    t.teardown(() => new Promise<void>((r) => server.close(() => r())))
    const { lb, port } = await startBalancer(buildConfig([{ name: 'fast', port: (server.address() as net.AddressInfo).port } as never]))
    t.teardown(() => lb.shutdown(200))
    const sock = await connect(port)
    sock.pause() // never reads, for now
    await holdFor(700) // the subject: time enough for an unbounded balancer to buffer hundreds of MB
    const sessions = [...lb.listeners.values()][0] as unknown as { head: { client: net.Socket; server: net.Socket | null } | null }
    const s = sessions.head!
    // JavaScript: its socket buffers; native: what the pump holds unsent (the Node sockets are gone).
    const pump = lb.engine.pump
    const buffered = engine === 'native' ? pump!.held() : s.client.writableLength + s.server!.readableLength
    t.equal(s.server === null, engine === 'native', `the ${engine} engine carries the session`)
    t.ok(buffered < 4 * 1024 * 1024, `balancer holds ${buffered} bytes for the slow reader (bounded)`)
    t.ok(pushed < 64 * 1024 * 1024, `the backend was held back too: it pushed only ${pushed} bytes`)
    // Then read everything: nothing lost.
    let received = 0
    sock.on('data', (d: Buffer) => void (received += d.length))
    sock.resume()
    await new Promise<void>((r) => sock.on('end', () => r()))
    t.equal(received, 256 * 1024 * 1024, 'every byte arrived once the client read')
    sock.destroy()
  })

  t.test('bytes sent before the backend connects are held and delivered in order', async (t) => {
    const echo = await startBackend('echo', 'echo')
    t.teardown(() => echo.close())
    const { lb, port } = await startBalancer(buildConfig([echo]))
    t.teardown(() => lb.shutdown(200))
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    // Written before even our own connect completes, then FIN.
    const payload = Buffer.concat(Array.from({ length: 50 }, (_, i) => Buffer.from(`line ${i}\n`)))
    for (let i = 0; i < payload.length; i += 7) sock.write(payload.subarray(i, i + 7))
    sock.end()
    const got = await readAll(sock)
    t.same(got.toString(), payload.toString())
  })
})

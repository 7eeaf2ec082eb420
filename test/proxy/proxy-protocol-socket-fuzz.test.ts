// Issue 6, socket level: a few hundred real connections on 127.0.0.1 through
// readProxyHeader, each sending a generated header (valid v1/v2, truncated or
// corrupted) plus payload in random chunks with random pauses. The expected
// outcome comes from the pure parser: done -> ok with the payload intact
// (rest + later bytes), error -> the same code, need-more -> PROXY_TRUNCATED
// (the client ends its side). done must be called exactly once.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import fc from 'fast-check'
import { encodeProxyV1, encodeProxyV2 } from '../../src/net/proxy-protocol/encode.ts'
import { parseProxyHeader } from '../../src/net/proxy-protocol/parser.ts'
import { readProxyHeader, type ProxyAcceptResult } from '../../src/proxy/proxy-accept.ts'

const CONNECTIONS = 300
const CONCURRENCY = 12

interface Outcome {
  result: ProxyAcceptResult
  data: Buffer // rest + every later byte, when ok
  calls: number
}

const spec = fc.record({
  v2: fc.boolean(),
  src: fc.oneof(fc.ipV4(), fc.ipV6()),
  dst: fc.oneof(fc.ipV4(), fc.ipV6()),
  sp: fc.integer({ min: 0, max: 65535 }),
  dp: fc.integer({ min: 0, max: 65535 }),
  damage: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.record({ cut: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
  ),
  payload: fc.uint8Array({ maxLength: 3000 }),
  chunks: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 12 }),
  pauses: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
})

t.test(`socket fuzz: ${CONNECTIONS} connections through readProxyHeader`, async (t) => {
  const waiting = new Map<number, (o: Outcome) => void>() // by client port
  const arrived = new Map<number, Outcome>()
  const serverSockets = new Set<net.Socket>()
  const clients = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    serverSockets.add(socket)
    socket.on('close', () => serverSockets.delete(socket))
    const port = socket.remotePort as number
    const outcome: Outcome = { result: { ok: false, code: 'PROXY_TIMEOUT', reason: 'unset' }, data: Buffer.alloc(0), calls: 0 }
    const report = (): void => {
      const w = waiting.get(port)
      if (w) w(outcome)
      else arrived.set(port, outcome)
    }
    readProxyHeader(socket, { timeoutMs: 5000, trusted: () => true }, (result) => {
      outcome.calls++
      outcome.result = result
      socket.on('error', () => {})
      if (!result.ok) {
        socket.destroy()
        setTimeout(report, 20) // late extra calls would show in `calls`
        return
      }
      const parts = [result.rest]
      socket.on('data', (c: Buffer) => parts.push(c))
      socket.on('end', () => {
        outcome.data = Buffer.concat(parts)
        socket.end()
        report()
      })
      socket.resume()
    })
  })
  t.teardown(async () => {
    for (const s of clients) s.destroy()
    for (const s of serverSockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port

  const cases = fc.sample(spec, { numRuns: CONNECTIONS, seed: 20240601 })
  const failures: string[] = []
  const tally: Record<string, number> = {}

  async function one(i: number): Promise<void> {
    const c = cases[i]
    let header = (c.v2 ? encodeProxyV2 : encodeProxyV1)(c.src, c.sp, c.dst, c.dp)
    if (c.damage && 'cut' in c.damage) header = header.subarray(0, c.damage.cut % header.length)
    else if (c.damage) {
      header = Buffer.from(header)
      header[c.damage.at % header.length] = c.damage.byte
    }
    const cut = c.damage !== null && 'cut' in c.damage
    const bytes = cut ? header : Buffer.concat([header, c.payload]) // a cut header is all the client sends
    const want = parseProxyHeader(bytes)
    const client = net.connect(port, '127.0.0.1')
    clients.add(client)
    client.on('error', () => {}) // the server closes early on errors
    client.setNoDelay(true)
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    const local = client.localPort as number
    const outcome = new Promise<Outcome>((resolve) => {
      const early = arrived.get(local)
      if (early) resolve(early)
      else waiting.set(local, resolve)
    })
    for (let at = 0, k = 0; at < bytes.length && !client.destroyed; k++) {
      const next = Math.min(bytes.length, at + c.chunks[k % c.chunks.length])
      client.write(bytes.subarray(at, next))
      at = next
      const pause = c.pauses[k % c.pauses.length]
      if (pause > 0) await sleep(pause)
    }
    client.end()
    let timer: NodeJS.Timeout | undefined
    const o = await Promise.race([outcome, new Promise<null>((resolve) => (timer = setTimeout(resolve, 10000, null)))])
    clearTimeout(timer)
    waiting.delete(local)
    arrived.delete(local)
    client.destroy()
    clients.delete(client)
    if (o === null) return void failures.push(`#${i}: no outcome`)
    const key = o.result.ok ? 'ok' : o.result.code
    tally[key] = (tally[key] ?? 0) + 1
    if (o.calls !== 1) failures.push(`#${i}: done called ${o.calls} times`)
    if (want.status === 'done') {
      if (!o.result.ok) failures.push(`#${i}: expected a header, got ${o.result.code} ${o.result.reason}`)
      else if (JSON.stringify(o.result.header) !== JSON.stringify(want.header)) failures.push(`#${i}: header differs`)
      else if (!o.data.equals(want.rest)) failures.push(`#${i}: payload differs (${o.data.length} vs ${want.rest.length} bytes)`)
    } else {
      const code = want.status === 'error' ? want.code : 'PROXY_TRUNCATED'
      if (o.result.ok || o.result.code !== code) failures.push(`#${i}: expected ${code}, got ${o.result.ok ? 'ok' : o.result.code}`)
    }
  }

  const started = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < CONNECTIONS) await one(next++)
  }))
  t.same(failures, [], 'every connection ended as the parser predicts')
  t.ok((tally.ok ?? 0) > CONNECTIONS / 2, `most connections carried a valid header (${tally.ok ?? 0})`)
  t.ok((tally.PROXY_TRUNCATED ?? 0) > 10, `truncated headers were seen (${tally.PROXY_TRUNCATED ?? 0})`)
  t.comment(`${CONNECTIONS} connections in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(tally)}`)
})

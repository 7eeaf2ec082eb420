// Authentication and abuse limits on a real server: bearer token enforced on
// loopback when configured, refusal to start off loopback without one, 413
// over 4 KiB, and timeouts that close slowloris sockets.
import t from 'tap'
import net from 'node:net'
import pino from 'pino'
import { startAdminServer } from '../../src/admin/server.ts'
import { fakeModel } from './fake-model.ts'
import { startTestServer } from './helpers.ts'

const silent = pino({ level: 'silent' })

/** Send raw bytes, resolve with everything the server wrote until it closed (bounded by `ms`). */
function raw(port: number, chunks: string[], ms = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => {
      s.destroy()
      resolve({ text, closed: false })
    }, ms)
    s.on('connect', () => {
      for (const c of chunks) s.write(c)
    })
    s.on('data', (d) => (text += d.toString('latin1')))
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        clearTimeout(timer)
        reject(err)
      }
    })
    s.on('close', () => {
      clearTimeout(timer)
      resolve({ text, closed: true })
    })
  })
}

t.test('a configured token is enforced on loopback, on every endpoint but the page shell', async (t) => {
  const m = fakeModel()
  const { base, logs } = await startTestServer(t, m, 's3cret-token')
  const auth = { authorization: 'Bearer s3cret-token' }
  const requests: [string, string][] = [
    ['GET', '/status'],
    ['GET', '/metrics'],
    ['GET', '/healthz'],
    ['POST', '/reload'],
    ['POST', '/backends/a/drain'],
    ['POST', '/backends/nope/drain'],
    ['GET', '/nope'],
    ['POST', '/status'],
  ]
  for (const [method, path] of requests) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic s3cret-token' }]) {
      const res = await fetch(`${base}${path}`, { method, headers })
      t.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`)
      t.equal(res.headers.get('www-authenticate'), 'Bearer realm="l4lb"')
      t.same(await res.json(), { error: 'missing or wrong bearer token' })
    }
  }
  t.same(m.calls, [], 'nothing reached the model without the token')
  t.equal(m.backends[1].adminState, 'ready')
  t.ok(logs.some((l) => l.msg === 'admin: unauthorized request' && typeof l.peer === 'string'), 'refusals logged')

  t.equal((await fetch(`${base}/status`, { headers: auth })).status, 200)
  t.equal((await fetch(`${base}/metrics`, { headers: auth })).status, 200)
  t.equal((await fetch(`${base}/nope`, { headers: auth })).status, 404)
  t.equal((await fetch(`${base}/backends/a/drain`, { method: 'POST', headers: auth })).status, 200)
  t.equal(m.backends[1].adminState, 'drain')
  const page = await fetch(`${base}/`)
  t.equal(page.status, 200, 'the page shell needs no token (it holds no data)')
  t.notMatch(await page.text(), /s3cret-token/, 'and does not contain the token')
})

t.test('refuses to start off loopback without a token (before binding)', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    await t.rejects(
      startAdminServer({ enabled: true, bind: { host, port: 0 }, token: null }, fakeModel(), silent),
      /admin\.token is required/,
      host,
    )
  }
})

t.test('bodies over 4 KiB -> 413', async (t) => {
  const m = fakeModel()
  const { base, server } = await startTestServer(t, m)
  const big = JSON.stringify({ weight: 1, pad: 'x'.repeat(5000) })
  const res = await fetch(`${base}/backends/a/weight`, { method: 'POST', body: big })
  t.equal(res.status, 413, 'declared length')
  t.match(await res.json(), { error: /over 4096 bytes/ })
  // chunked, no content-length: counted while reading
  const chunk = 'x'.repeat(1024)
  const sized = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`
  const r = await raw(server.port, [
    'POST /backends/a/weight HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    ...Array.from({ length: 6 }, () => sized(chunk)),
  ])
  t.match(r.text, /^HTTP\/1\.1 413 /, 'chunked body')
  t.ok(r.closed, 'connection closed after 413')
  t.equal(m.backends[1].weight, 2, 'weight unchanged')
  const ok = await fetch(`${base}/backends/a/weight`, { method: 'POST', body: JSON.stringify({ weight: 9, }) })
  t.equal(ok.status, 200, 'still serving')
})

t.test('slowloris: incomplete headers or body are cut by the timeouts', async (t) => {
  const { server, base } = await startTestServer(t, fakeModel(), null, {
    headersTimeoutMs: 300,
    requestTimeoutMs: 600,
  })
  const headers = await raw(server.port, ['GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: a'], 8000)
  t.ok(headers.closed, 'socket with never-ending headers closed by the server')
  t.notMatch(headers.text, /HTTP\/1\.1 200/)
  const body = await raw(
    server.port,
    ['POST /backends/a/weight HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"wei'],
    8000,
  )
  t.ok(body.closed, 'socket with a never-ending body closed by the server')
  t.notMatch(body.text, /HTTP\/1\.1 200/)
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'still serving')
})

t.test('close() is idempotent and stops listening', async (t) => {
  const { server, base } = await startTestServer(t, fakeModel())
  await server.close()
  await server.close()
  await t.rejects(fetch(`${base}/healthz`))
})

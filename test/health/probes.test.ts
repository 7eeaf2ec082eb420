// Every probe type against real fixture backends on 127.0.0.1 port 0.
import net from 'node:net'
import t, { type Test } from 'tap'
import { PROXY_V1_UNKNOWN, PROXY_V2_LOCAL } from '../../src/net/proxy-protocol/encode.ts'
import { connectProbe } from '../../src/health/probes/connect.ts'
import { httpProbe } from '../../src/health/probes/http.ts'
import { probeFor } from '../../src/health/probes/registry.ts'
import { tcpProbe } from '../../src/health/probes/tcp.ts'
import { refusedPort, startBackend, type BackendMode, type FixtureBackend } from '../fixtures/backend.ts'
import { backendCfg, healthCfg } from './config.ts'
import { until } from '../helpers/until.ts'

const health = healthCfg({ timeoutMs: 300 })
const connectHealth = healthCfg({ type: 'connect', timeoutMs: 300, connectTarget: { host: 'example.test', port: 443 } })

async function fixture(t: Test, mode: BackendMode): Promise<FixtureBackend> {
  const be = await startBackend(`be-${mode}`, mode)
  t.teardown(() => be.close())
  return be
}

/**
 * The probe closed its socket: the backend saw our FIN (stall/silent fixtures are
 * half-open by design and keep their own side open) or the socket is gone.
 */
async function closedOnBackend(t: Test, be: FixtureBackend): Promise<void> {
  const closed = () => [...be.sockets].every((s) => s.readableEnded || s.destroyed)
  await until('probe socket closed', closed, { deadlineMs: 3000 })
}

/** A backend that resets the connection as soon as it receives anything. */
async function resetOnData(t: Test): Promise<number> {
  const srv = net.createServer((s) => {
    s.on('error', () => {})
    s.on('data', () => s.resetAndDestroy())
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())))
  return (srv.address() as net.AddressInfo).port
}

t.test('registry: one probe per check type, none for `none`', async (t) => {
  t.equal(probeFor('tcp'), tcpProbe)
  t.equal(probeFor('http'), httpProbe)
  t.equal(probeFor('connect'), connectProbe)
  t.equal(probeFor('none'), null)
})

t.test('tcp', async (t) => {
  const be = await fixture(t, 'name')
  const t0 = performance.now()
  const ok = await tcpProbe(backendCfg(be.port), health)
  const wall = performance.now() - t0
  t.match(ok, { ok: true, detail: 'L4OK' })
  t.ok(ok.durationMs > 0 && ok.durationMs <= wall, `durationMs ${ok.durationMs.toFixed(3)} is the probe's own time: > 0 and <= the ${wall.toFixed(3)} ms the call took`)
  t.equal(be.accepted, 1)
  await closedOnBackend(t, be)

  const refused = await tcpProbe(backendCfg(await refusedPort()), health)
  t.match(refused, { ok: false, detail: 'L4CON ECONNREFUSED' })

  await be.refuse()
  t.match(await tcpProbe(backendCfg(be.port), health), { ok: false, detail: 'L4CON ECONNREFUSED' }, 'after refuse()')
})

t.test('tcp to a PROXY backend sends the v2 LOCAL header first', async (t) => {
  const be = await fixture(t, 'silent')
  const r = await tcpProbe(backendCfg(be.port, { sendProxy: 'v2' }), health)
  t.match(r, { ok: true, detail: 'L4OK' })
  await until('backend received bytes', () => be.firstBytes.length === 1)
  t.same(be.firstBytes[0], PROXY_V2_LOCAL, 'exactly the 16-byte LOCAL header')
  t.equal(PROXY_V2_LOCAL.length, 16)
  await closedOnBackend(t, be)
})

t.test('http: status in range, out of range, bad line, timeout, close, reset', async (t) => {
  const be = await fixture(t, 'http')
  t.match(await httpProbe(backendCfg(be.port), health), { ok: true, detail: 'L7OK 200' })
  be.httpStatus = 503
  t.match(await httpProbe(backendCfg(be.port), health), { ok: false, detail: 'L7STS 503' })
  be.httpStatus = 301
  t.match(await httpProbe(backendCfg(be.port), health), { ok: true, detail: 'L7OK 301' }, 'default range 200-399')
  const narrow = healthCfg({ timeoutMs: 300, http: { ...health.http, expectStatus: [200, 200] } })
  t.match(await httpProbe(backendCfg(be.port), narrow), { ok: false, detail: 'L7STS 301' })
  await closedOnBackend(t, be)

  const named = await fixture(t, 'name')
  t.match(await httpProbe(backendCfg(named.port), health), { ok: false, detail: 'L7RSP bad status line' })

  const stall = await fixture(t, 'stall')
  const short = healthCfg({ timeoutMs: 150 })
  const tout = await httpProbe(backendCfg(stall.port), short)
  t.match(tout, { ok: false, detail: 'L7TOUT' })
  t.ok(tout.durationMs >= 145 && tout.durationMs < 150 + 500, `a timed-out probe reports about its 150 ms timeout (${tout.durationMs.toFixed(1)} ms; 500 ms slack for a loaded machine)`)
  await closedOnBackend(t, stall)

  const closing = await fixture(t, 'close')
  t.match(await httpProbe(backendCfg(closing.port), health), { ok: false, detail: 'L7RSP connection closed' })

  const reset = await fixture(t, 'reset') // writes its name, then resets
  t.match(await httpProbe(backendCfg(reset.port), health), { ok: false, detail: 'L7RSP bad status line' })
  t.match(await httpProbe(backendCfg(await resetOnData(t)), health), { ok: false, detail: 'L7RSP ECONNRESET' })

  t.match(await httpProbe(backendCfg(await refusedPort()), health), { ok: false, detail: 'L4CON ECONNREFUSED' })
})

t.test('http request: method, path, Host header', async (t) => {
  const be = await fixture(t, 'http')
  await httpProbe(backendCfg(be.port), health)
  const custom = healthCfg({ http: { method: 'HEAD', path: '/ping', host: 'svc.local', expectStatus: [200, 299] } })
  await httpProbe(backendCfg(be.port), custom)
  await until('probe 2 reached the backend', () => be.firstBytes.length === 2)
  const [first, second] = be.firstBytes.map((b) => b.toString('latin1'))
  t.match(first, new RegExp(`^GET /healthz HTTP/1\\.1\\r\\nHost: 127\\.0\\.0\\.1:${be.port}\\r\\n`))
  t.match(second, /^HEAD \/ping HTTP\/1\.1\r\nHost: svc\.local\r\n/)
})

t.test('http to a PROXY backend: LOCAL header, then the request', async (t) => {
  const be = await fixture(t, 'http')
  const r = await httpProbe(backendCfg(be.port, { sendProxy: 'v2' }), healthCfg({ type: 'http', timeoutMs: 300 }))
  t.match(r, { ok: true, detail: 'L7OK 200' })
  await until('the backend received the first probe', () => be.firstBytes.length === 1)
  const got = be.firstBytes[0]
  t.same(got.subarray(0, 16), PROXY_V2_LOCAL, 'header first')
  t.match(got.subarray(16).toString('latin1'), /^GET \/healthz HTTP\/1\.1\r\n/)
})

t.test('connect: 2xx through the proxy is up, 502 is down', async (t) => {
  const be = await fixture(t, 'connect')
  t.match(await connectProbe(backendCfg(be.port), connectHealth), { ok: true, detail: 'CONNECT 200' })
  be.connectStatus = 502
  t.match(await connectProbe(backendCfg(be.port), connectHealth), { ok: false, detail: 'CONNECT 502' })
  await until('probe 2 reached the backend', () => be.firstBytes.length === 2)
  t.match(be.firstBytes[0].toString('latin1'), /^CONNECT example\.test:443 HTTP\/1\.1\r\nHost: example\.test:443\r\n/)
  await closedOnBackend(t, be)

  const stall = await fixture(t, 'stall')
  t.match(await connectProbe(backendCfg(stall.port), connectHealth), { ok: false, detail: 'L7TOUT' })
  t.match(await connectProbe(backendCfg(await refusedPort()), connectHealth), {
    ok: false,
    detail: 'L4CON ECONNREFUSED',
  })
  const v6 = healthCfg({ type: 'connect', timeoutMs: 300, connectTarget: { host: '::1', port: 8443 } })
  await connectProbe(backendCfg(be.port), v6)
  await until('probe 3 reached the backend', () => be.firstBytes.length === 3)
  t.match(be.firstBytes[2].toString('latin1'), /^CONNECT \[::1\]:8443 HTTP\/1\.1\r\n/, 'IPv6 target bracketed')
})

t.test('connect to a PROXY v1 backend: "PROXY UNKNOWN" (the v1 the data path speaks), then CONNECT', async (t) => {
  const be = await fixture(t, 'connect')
  await connectProbe(backendCfg(be.port, { sendProxy: 'v1' }), connectHealth)
  await until('the backend received the first probe', () => be.firstBytes.length === 1)
  t.same(be.firstBytes[0].subarray(0, PROXY_V1_UNKNOWN.length), PROXY_V1_UNKNOWN)
  t.match(be.firstBytes[0].subarray(PROXY_V1_UNKNOWN.length).toString('latin1'), /^CONNECT example\.test:443 HTTP\/1\.1\r\n/)
})

t.test('connect without a target fails without dialling', async (t) => {
  const be = await fixture(t, 'connect')
  const r = await connectProbe(backendCfg(be.port), healthCfg({ type: 'connect', connectTarget: null }))
  t.match(r, { ok: false, detail: 'CONNECT no target' })
  t.equal(be.accepted, 0)
})

t.test('abort ends an in-flight probe at once and closes its socket', async (t) => {
  const be = await fixture(t, 'stall')
  const ac = new AbortController()
  const pending = httpProbe(backendCfg(be.port), healthCfg({ timeoutMs: 60_000 }), ac.signal)
  await until('connected', () => be.sockets.size === 1)
  ac.abort()
  t.match(await pending, { ok: false, detail: 'aborted' })
  await closedOnBackend(t, be)
  const already = await tcpProbe(backendCfg(be.port), health, AbortSignal.abort())
  t.match(already, { ok: false, detail: 'aborted' }, 'an aborted signal never dials')
})

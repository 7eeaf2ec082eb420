// Every admin endpoint against a real server on port 0 with the fake model:
// replies, status codes, error bodies, and that runtime changes reach the
// model and are logged with the peer address.
import t from 'tap'
import { fakeModel } from './fake-model.ts'
import { startTestServer } from './helpers.ts'
import type { StatusDoc } from '../../src/admin/model.ts'

const post = (url: string, body?: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers })

t.test('GET /status returns the model document', async (t) => {
  const m = fakeModel()
  const { base } = await startTestServer(t, m)
  const res = await fetch(`${base}/status`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.headers.get('cache-control'), 'no-store')
  const doc = (await res.json()) as StatusDoc
  t.equal(doc.pools.length, 2)
  t.equal(doc.pools[0].backends[0].id, '10.0.0.1:3128')
  t.equal(doc.listeners[0].name, 'main')
  t.equal(doc.config.lastError, null)
  const head = await fetch(`${base}/status`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD allowed')
  t.equal(await head.text(), '', 'HEAD has no body')
})

t.test('GET /healthz: 200 when ok, 503 with the reason otherwise', async (t) => {
  const m = fakeModel()
  const { base } = await startTestServer(t, m)
  let res = await fetch(`${base}/healthz`)
  t.equal(res.status, 200)
  t.same(await res.json(), { ok: true, reason: 'ok' })
  m.listenersUp = false
  res = await fetch(`${base}/healthz`)
  t.equal(res.status, 503)
  t.same(await res.json(), { ok: false, reason: 'listener main is not up' })
  m.listenersUp = true
  for (const b of m.backends) b.health = 'down'
  res = await fetch(`${base}/healthz`)
  t.equal(res.status, 503)
  t.match(await res.json(), { ok: false, reason: /no backend/ })
})

t.test('GET /metrics is Prometheus text from the model', async (t) => {
  const { base } = await startTestServer(t, fakeModel())
  const res = await fetch(`${base}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.match(text, /l4lb_backend_active_connections\{pool="web",backend="10\.0\.0\.1:3128"\} 3/)
  t.match(text, /l4lb_backend_state\{pool="alt",backend="shared",state="drain"\} 1/)
})

t.test('GET / serves the status page with a strict CSP', async (t) => {
  const { base } = await startTestServer(t, fakeModel())
  const res = await fetch(`${base}/`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/html/)
  t.match(res.headers.get('content-security-policy'), /default-src 'none'/)
  const html = await res.text()
  t.match(html, /<table id="backends">/)
  t.notMatch(html, /<(script|link)[^>]+(src|href)=/, 'no external assets')
})

t.test('POST /backends/{id}/ready|drain|maint', async (t) => {
  const m = fakeModel()
  const { base, logs } = await startTestServer(t, m)
  for (const state of ['drain', 'maint', 'ready'] as const) {
    const res = await post(`${base}/backends/10.0.0.1%3A3128/${state}`)
    t.equal(res.status, 200, state)
    t.same(await res.json(), { ok: true, backend: '10.0.0.1:3128', state })
    t.equal(m.backends[0].adminState, state)
  }
  const res = await post(`${base}/backends/shared/drain?pool=web`)
  t.equal(res.status, 200, 'with ?pool=')
  t.same(await res.json(), { ok: true, backend: 'shared', pool: 'web', state: 'drain' })
  t.same(m.calls, ['state 10.0.0.1:3128 drain -', 'state 10.0.0.1:3128 maint -', 'state 10.0.0.1:3128 ready -', 'state shared drain web'])
  const applied = logs.filter((l) => l.msg === 'admin: runtime change applied')
  t.equal(applied.length, 4, 'each change logged')
  t.match(applied[0], { peer: /^127\.0\.0\.1:\d+$/, backend: '10.0.0.1:3128', state: 'drain' }, 'with who asked')
})

t.test('unknown backend -> 404, ambiguous id -> 409, bad ?pool= -> 400', async (t) => {
  const m = fakeModel()
  const { base, logs } = await startTestServer(t, m)
  let res = await post(`${base}/backends/nope/drain`)
  t.equal(res.status, 404)
  t.same(await res.json(), { error: 'no backend "nope"' })
  res = await post(`${base}/backends/a/drain?pool=alt`)
  t.equal(res.status, 404)
  t.same(await res.json(), { error: 'no backend "a" in pool "alt"' })
  res = await post(`${base}/backends/nope/weight`, '{"weight":3}')
  t.equal(res.status, 404)
  res = await post(`${base}/backends/shared/maint`)
  t.equal(res.status, 409)
  t.match(await res.json(), { error: /several pools: add \?pool=/ })
  res = await post(`${base}/backends/a/drain?pool=`)
  t.equal(res.status, 400)
  res = await post(`${base}/backends/a/drain?pool=web&pool=alt`)
  t.equal(res.status, 400)
  t.match(await res.json(), { error: /at most one/ })
  t.ok(logs.some((l) => l.msg === 'admin: runtime change for unknown backend' && typeof l.peer === 'string'))
  t.same(
    m.backends.map((b) => b.adminState),
    ['ready', 'ready', 'ready', 'drain'],
    'nothing changed',
  )
})

t.test('POST /backends/{id}/weight', async (t) => {
  const m = fakeModel()
  const { base } = await startTestServer(t, m)
  let res = await post(`${base}/backends/a/weight`, '{"weight": 0}', { 'content-type': 'application/json' })
  t.equal(res.status, 200)
  t.same(await res.json(), { ok: true, backend: 'a', weight: 0 })
  t.equal(m.backends[1].weight, 0)
  res = await post(`${base}/backends/a/weight`, '{"weight":256}')
  t.equal(res.status, 200)
  t.equal(m.backends[1].weight, 256)
  res = await post(`${base}/backends/shared/weight?pool=alt`, '{"weight":5}')
  t.equal(res.status, 200)
  t.equal(m.backends[3].weight, 5)

  const bad: [string | undefined, RegExp][] = [
    [undefined, /not valid JSON/],
    ['', /not valid JSON/],
    ['{"weight":', /not valid JSON/],
    ['weight=3', /not valid JSON/],
    ['[3]', /JSON object/],
    ['null', /JSON object/],
    ['3', /JSON object/],
    ['{}', /missing "weight"/],
    ['{"weight":3,"x":1}', /unknown key "x"/],
    ['{"weight":-1}', /integer 0\.\.256/],
    ['{"weight":257}', /integer 0\.\.256/],
    ['{"weight":1.5}', /integer 0\.\.256/],
    ['{"weight":"3"}', /integer 0\.\.256/],
    ['{"weight":null}', /integer 0\.\.256/],
  ]
  for (const [body, why] of bad) {
    res = await post(`${base}/backends/a/weight`, body)
    t.equal(res.status, 400, `body ${JSON.stringify(body)} -> 400`)
    t.match(await res.json(), { error: why }, `reason for ${JSON.stringify(body)}`)
  }
  t.equal(m.backends[1].weight, 256, 'bad bodies changed nothing')
})

t.test('POST /reload: 200, or 422 with every error', async (t) => {
  const m = fakeModel()
  const { base, logs } = await startTestServer(t, m)
  let res = await post(`${base}/reload`)
  t.equal(res.status, 200)
  t.same(await res.json(), { ok: true })
  m.reloadErrors = ['pools[0].backends[1].port: must be 1..65535', 'listeners[0].pool: no pool "x"']
  res = await post(`${base}/reload`)
  t.equal(res.status, 422)
  const body = (await res.json()) as { error: string; errors: string[] }
  t.same(body.errors, m.reloadErrors)
  t.match(body.error, /previous config kept/)
  const doc = (await (await fetch(`${base}/status`)).json()) as StatusDoc
  t.same(doc.config.lastError?.errors, m.reloadErrors, '/status shows the rejected reload')
  t.ok(logs.some((l) => l.msg === 'admin: reload rejected, previous config kept' && typeof l.peer === 'string'))
})

t.test('wrong method -> 405 with Allow; unknown path -> 404', async (t) => {
  const { base } = await startTestServer(t, fakeModel())
  const cases: [string, string, string][] = [
    ['POST', '/status', 'GET, HEAD'],
    ['DELETE', '/healthz', 'GET, HEAD'],
    ['PUT', '/metrics', 'GET, HEAD'],
    ['GET', '/reload', 'POST'],
    ['GET', '/backends/a/drain', 'POST'],
    ['POST', '/', 'GET, HEAD'],
  ]
  for (const [method, path, allow] of cases) {
    const res = await fetch(`${base}${path}`, { method })
    t.equal(res.status, 405, `${method} ${path}`)
    t.equal(res.headers.get('allow'), allow)
    t.match(await res.json(), { error: /not allowed/ })
  }
  for (const path of ['/nope', '/backends/a/explode', '/status/x', '/backends']) {
    const res = await fetch(`${base}${path}`)
    t.equal(res.status, 404, path)
    t.match(await res.json(), { error: /no such endpoint/ })
  }
  const res = await post(`${base}/backends/%E0%A4%A/drain`)
  t.equal(res.status, 400, 'bad percent-encoding')
})

t.test('a model that throws gives 500, and the server keeps serving', async (t) => {
  const m = fakeModel()
  m.status = () => {
    throw new Error('boom')
  }
  const { base, logs } = await startTestServer(t, m)
  const res = await fetch(`${base}/status`)
  t.equal(res.status, 500)
  t.same(await res.json(), { error: 'internal error' })
  t.ok(logs.some((l) => l.msg === 'admin: request failed'))
  t.equal((await fetch(`${base}/healthz`)).status, 200)
})

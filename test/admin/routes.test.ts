// Route table: method + path -> route, 404, 405 with Allow, bad encoding -> 400.
import t from 'tap'
import fs from 'node:fs'
import { matchRoute } from '../../src/admin/routes.ts'

t.test('matches', async (t) => {
  const cases: [string, string, unknown][] = [
    ['GET', '/', { kind: 'page' }],
    ['HEAD', '/', { kind: 'page' }],
    ['GET', '/status', { kind: 'status' }],
    ['GET', '/history', { kind: 'history' }],
    ['GET', '/metrics', { kind: 'metrics' }],
    ['GET', '/healthz', { kind: 'healthz' }],
    ['POST', '/reload', { kind: 'reload' }],
    ['POST', '/backends/a/ready', { kind: 'set-state', id: 'a', state: 'ready' }],
    ['POST', '/backends/a/drain', { kind: 'set-state', id: 'a', state: 'drain' }],
    ['POST', '/backends/a/maint', { kind: 'set-state', id: 'a', state: 'maint' }],
    ['POST', '/backends/a/weight', { kind: 'set-weight', id: 'a' }],
    ['POST', '/backends/10.0.0.1:3128/drain', { kind: 'set-state', id: '10.0.0.1:3128', state: 'drain' }],
    ['POST', '/backends/10.0.0.1%3A3128/drain', { kind: 'set-state', id: '10.0.0.1:3128', state: 'drain' }],
    ['POST', '/backends/%5B%3A%3A1%5D%3A80/ready', { kind: 'set-state', id: '[::1]:80', state: 'ready' }],
    ['POST', '/backends/a%2Fb/ready', { kind: 'set-state', id: 'a/b', state: 'ready' }],
  ]
  for (const [method, path, route] of cases) t.same(matchRoute(method, path), { ok: true, route }, `${method} ${path}`)
})

t.test('rejects', async (t) => {
  const cases: [string, string, number, string?][] = [
    ['POST', '/status', 405, 'GET, HEAD'],
    ['DELETE', '/metrics', 405, 'GET, HEAD'],
    ['GET', '/reload', 405, 'POST'],
    ['GET', '/backends/a/drain', 405, 'POST'],
    ['PUT', '/backends/a/weight', 405, 'POST'],
    ['GET', '/nope', 404],
    ['GET', '/status/', 404],
    ['POST', '/backends/a/down', 404],
    ['POST', '/backends/a', 404],
    ['POST', '/backends//drain', 404],
    ['POST', '/backends/a/b/drain', 404],
    ['POST', '/backends/%E0%A4%A/drain', 400],
  ]
  for (const [method, path, status, allow] of cases) {
    const m = matchRoute(method, path)
    t.equal(m.ok, false, `${method} ${path} rejected`)
    if (!m.ok) {
      t.equal(m.status, status, `${method} ${path} -> ${status}`)
      t.equal(m.allow, allow, `${method} ${path} Allow`)
      // The body a client reads: what was wrong, naming the method or the path.
      const says = { 405: `method ${method} not allowed`, 404: `no such endpoint: ${path.split('?')[0]}`, 400: 'backend id is not valid percent-encoding' }[status]
      t.equal(m.error, says, `${method} ${path} says why`)
    }
  }
})

t.test('docs/admin-api.md documents every endpoint', async (t) => {
  const doc = fs.readFileSync(new URL('../../docs/admin-api.md', import.meta.url), 'utf8')
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/history'],
    ['GET', '/status'],
    ['GET', '/metrics'],
    ['GET', '/healthz'],
    ['POST', '/reload'],
    ['POST', '/backends/{id}/ready|drain|maint'],
    ['POST', '/backends/{id}/weight'],
  ]) {
    t.match(doc, `\n## ${method} ${path}\n`, `${method} ${path} has a section`)
    const concrete = path.replace('{id}', 'a').split('|')[0]
    t.ok(matchRoute(method, concrete).ok, `${method} ${concrete} is a route`)
  }
})

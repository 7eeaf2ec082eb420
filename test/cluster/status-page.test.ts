// The status page of a real primary in headless Chromium shows a backend
// going down; /metrics sums counters across workers.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { chromium } from 'playwright-core'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { pooled, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

t.test('status page and metrics of a real cluster', async (t) => {
  const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const lb = await startCluster({ workers: 2, backends: bes, pool: { policy: 'round-robin' } })
  t.teardown(() => lb.stop())

  await pooled(100, 10, () => whoServes(lb.port))
  const connections = (text: string) => [...text.matchAll(/^l4lb_backend_connections_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
  // Workers report every 500 ms: wait for the reports to add up, then check they add up exactly.
  const metrics = await until('l4lb_backend_connections_total reaches 100', async () => {
    const text = (await lb.admin('GET', '/metrics')).body
    return connections(text) >= 100 ? text : null
  }, { deadlineMs: 5000, intervalMs: 50 })
  t.equal(connections(metrics), 100, 'l4lb_backend_connections_total sums both workers: 100')
  t.match(metrics, /l4lb_worker_restarts_total/, 'per-worker restarts exported')

  if (!fs.existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: run bash scripts/setup-system.sh or set CHROMIUM_PATH`)
    return
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l4lb-chromium-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 60_000 })
  t.teardown(() => ctx.close())
  const page = await ctx.newPage()
  await page.goto(`http://127.0.0.1:${lb.adminPort}/`)
  const state = (id: string) => page.locator(`tr[data-backend="pool/${id}"] td[data-col="state"]`)
  await state('b').filter({ hasText: 'READY' }).waitFor({ timeout: 15_000 })
  t.equal(await state('a').textContent(), 'READY')
  await bes[1].refuse()
  await state('b').filter({ hasText: 'DOWN' }).waitFor({ timeout: 15_000 })
  t.equal(await state('b').textContent(), 'DOWN', 'the page shows b going down')
  t.equal(await state('a').textContent(), 'READY', 'a stays ready')
})

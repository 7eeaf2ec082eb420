// The status page's charts on a real primary, in headless Chromium: the
// per-backend sparklines (new connections/s, active connections) move when
// traffic flows and when connections are held, and the health timeline gains
// a backend's down transition (with the failing check and its reason) when
// that backend starts refusing; its state strip then shows the change.
import fs from 'node:fs'
import type net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { chromium, type Page } from 'playwright-core'
import type { HistoryDoc } from '../../src/history/types.ts'
import { EVENTS_KEPT, SAMPLE_INTERVAL_MS, SAMPLES_KEPT } from '../../src/history/types.ts'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { connect, pooled, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const DEADLINE_MS = 20_000 // several 2 s samples on a loaded machine
const MAX_SENT = 4000 // connections per traffic phase, at most

/** Wait (every 250 ms, up to DEADLINE_MS) for `cond`; resolves true, or fails naming `what` (test/helpers/until.ts). */
const poll = (what: string, cond: () => Promise<boolean>): Promise<true> => until(what, cond, { deadlineMs: DEADLINE_MS, intervalMs: 250 })

const svgOf = (page: Page, key: string, col: string) => page.locator(`#backends tr[data-backend="${key}"] td[data-col="${col}"] svg`)
async function spark(page: Page, key: string, col: string): Promise<{ last: number | null; samples: number; d: string }> {
  const svg = svgOf(page, key, col)
  const last = await svg.getAttribute('data-last', { timeout: 2000 })
  return { last: last === null || last === '' ? null : Number(last), samples: Number(await svg.getAttribute('data-samples', { timeout: 2000 })), d: (await svg.getAttribute('data-d', { timeout: 2000 })) ?? '' }
}

t.test('sparklines and the health timeline move with traffic and health', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: run bash scripts/setup-system.sh or set CHROMIUM_PATH`)
    return
  }
  const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const lb = await startCluster({ workers: 1, backends: bes, pool: { policy: 'round-robin' } })
  t.teardown(() => lb.stop())

  const hist = JSON.parse((await lb.admin('GET', '/history')).body) as HistoryDoc
  t.same([hist.intervalMs, hist.samplesKept, hist.eventsKept], [SAMPLE_INTERVAL_MS, SAMPLES_KEPT, EVENTS_KEPT], 'GET /history states its bounds')

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l4lb-chromium-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 60_000 })
  t.teardown(() => ctx.close())
  const page = await ctx.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  const requests: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  await page.goto(`http://127.0.0.1:${lb.adminPort}/`)

  // Idle: the rate sparkline has samples and reads 0.
  t.ok(await poll('rate sparkline of a drawn', async () => (await spark(page, 'pool/a', 'spark-rate')).samples >= 1), 'rate sparkline of a drawn')
  const idle = await spark(page, 'pool/a', 'spark-rate')
  t.equal(idle.last, 0, 'no traffic yet: 0/s')

  // Traffic: a bounded stream of connections until the sparkline shows it.
  let sent = 0
  const moved = await poll('the rate sparkline of a to rise above 0/s', async () => {
    if (sent >= MAX_SENT) return false
    await pooled(40, 8, () => whoServes(lb.port))
    sent += 40
    return ((await spark(page, 'pool/a', 'spark-rate')).last ?? 0) > 0
  })
  t.ok(moved, `rate sparkline of a rises above 0/s after ${sent} connections`)
  const busy = await spark(page, 'pool/a', 'spark-rate')
  t.not(busy.d, idle.d, 'the drawn line changed')

  // Held connections: the active sparkline follows.
  const held: net.Socket[] = await Promise.all(Array.from({ length: 6 }, () => connect(lb.port)))
  t.teardown(() => held.forEach((s) => s.destroy()))
  t.ok(await poll('active sparkline of a shows the 3 held connections round-robin gave it', async () => ((await spark(page, 'pool/a', 'spark-active')).last ?? 0) >= 3), 'active sparkline of a shows the 3 held connections round-robin gave it')
  held.forEach((s) => s.destroy())

  // b starts refusing: the timeline gains its health and state changes.
  const timelineRows = (what: string, to: string) => page.locator(`#timeline tr[data-backend="pool/b"][data-what="${what}"][data-to="${to}"]`)
  t.equal(await timelineRows('state', 'down').count(), 0, 'no down event for b before')
  const eventsBefore = await page.locator('#timeline tr[data-event]').count()
  await bes[1].refuse()
  t.ok(await poll('timeline: b READY → DOWN', async () => (await timelineRows('state', 'down').count()) === 1), 'timeline: b READY → DOWN')
  t.ok(await poll('timeline: b health UP → DOWN', async () => (await timelineRows('health', 'down').count()) === 1), 'timeline: b health UP → DOWN')
  const health = timelineRows('health', 'down').first()
  t.match(await health.locator('td[data-col="reason"]').textContent(), /ECONNREFUSED|L4CON/, 'reason: the probe detail')
  t.match(await health.locator('td[data-col="check"]').textContent(), /^FAIL /, 'the failing check of then')
  t.match(await timelineRows('state', 'down').first().locator('td[data-col="change"]').textContent(), /READY → DOWN/)
  t.ok((await page.locator('#timeline tr[data-event]').count()) >= eventsBefore + 2, 'the timeline grew')
  t.ok(await poll('the state strip of b shows a change', async () => Number(await svgOf(page, 'pool/b', 'spark-state').getAttribute('data-changes', { timeout: 2000 })) >= 1), 'the state strip of b shows a change')

  // With b down, new connections go to a only: b's rate sparkline falls to 0 while a's stays up.
  sent = 0
  const shifted = await poll("b's rate to fall to 0/s while a's stays above 0", async () => {
    if (sent >= MAX_SENT) return false
    await pooled(40, 8, () => whoServes(lb.port))
    sent += 40
    return (await spark(page, 'pool/b', 'spark-rate')).last === 0 && ((await spark(page, 'pool/a', 'spark-rate')).last ?? 0) > 0
  })
  t.ok(shifted, "b's rate falls to 0/s, a's stays above 0")

  t.same(pageErrors, [], 'no script errors')
  const base = `http://127.0.0.1:${lb.adminPort}/`
  t.same(requests.filter((u) => !u.startsWith(base)), [], 'no request leaves the admin server')
})

// The status page in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): it renders a row per backend and listener, sends the
// token from the URL fragment, shows a backend going DOWN within a few 1 s
// refreshes, computes a rate from total deltas, shows a rejected reload, and
// renders ids as text. Missing Chromium is a FAILURE, not a skip.
import t, { type Test } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { fakeModel } from './fake-model.ts'
import { startTestServer } from './helpers.ts'
import { until } from '../helpers/until.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const WAIT = { timeout: 15_000 } // several 1 s refreshes, generous for a loaded machine

async function launch(t: Test): Promise<BrowserContext> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l4lb-chromium-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    timeout: 60_000,
  })
  t.teardown(() => ctx.close())
  return ctx
}

// The project compiles without the DOM lib, and the page's CSP forbids eval
// (so no string predicates): wait with locators, poll with a deadline, and
// type the one browser global used in evaluate() by hand.
interface BrowserGlobals {
  getComputedStyle(el: unknown): { backgroundColor: string }
}
const stateBg = (page: Page, key: string) =>
  page
    .locator(`tr[data-backend=${JSON.stringify(key)}] td[data-col="state"]`)
    .evaluate((el) => (globalThis as unknown as BrowserGlobals).getComputedStyle(el).backgroundColor)
const waitVisible = (page: Page, selector: string) => page.locator(selector).first().waitFor(WAIT)

const POLL = { deadlineMs: WAIT.timeout, intervalMs: 200 }

const cell = (page: Page, key: string, col: string) =>
  page.locator(`tr[data-backend=${JSON.stringify(key)}] td[data-col="${col}"]`).textContent({ timeout: WAIT.timeout })

t.test('status page in headless Chromium', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`)
    return
  }
  const m = fakeModel()
  m.backends.push({ pool: 'alt', id: '<b id="inj">x</b>', adminState: 'ready', health: 'up', weight: 1, active: 0, total: 0 })
  const agent = { address: '10.0.0.9:9999', down: false, admin: 'drain' as const, percent: 40, line: 'drain 40%', lineAt: Date.now(), ignored: null, polls: 3, ignoredTotal: 0, source: 'local' as const, leader: null }
  m.backends.push({ pool: 'alt', id: 'agented', adminState: 'drain', health: 'up', weight: 1, active: 0, total: 0, agent })
  m.backends.push({ pool: 'alt', id: 'followed', adminState: 'drain', health: 'up', weight: 1, active: 0, total: 0, agent: { ...agent, source: 'leader' as const, leader: 'lb2' } })
  m.backends[0].observed = { windowMs: 30_000, ok: 3, failed: 1, successRatio: 0.75 }
  m.backends[1].observed = { windowMs: 30_000, ok: 0, failed: 0, successRatio: null }
  const { base } = await startTestServer(t, m, 'page-token')
  const ctx = await launch(t)
  const page = await ctx.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))

  await page.goto(`${base}/#token=page-token`)
  await until('a row per backend (7)', async () => (await page.locator('tr[data-backend]').count()) === 7, POLL)
  t.equal(await page.locator('tr[data-listener="main"] td[data-col="up"]').textContent(), 'UP', 'listener row')
  t.equal(await cell(page, 'web/a', 'state'), 'READY')
  t.equal(await cell(page, 'alt/shared', 'state'), 'DRAIN')
  t.equal(await cell(page, 'alt/agented', 'state'), 'DRAIN · agent drain 40%', 'what the agent says, beside the state')
  t.equal(await cell(page, 'alt/followed', 'state'), 'DRAIN · agent drain 40% (via leader lb2)', 'a fleet follower says whose poll it shows')
  t.equal(await cell(page, 'web/a', 'weight'), '2')
  t.equal(await cell(page, 'web/10.0.0.1:3128', 'success'), '75.0% (3/4 in 30s)', 'CONNECT success rate over the window')
  t.equal(await cell(page, 'web/a', 'success'), 'no data (30s)', 'no answer in the window: no data, not 100% or 0%')
  t.equal(await cell(page, 'alt/agented', 'success'), '-', 'a pool that does not observe')
  t.equal(await cell(page, 'web/10.0.0.1:3128', 'active'), '3')
  t.match(await cell(page, 'web/a', 'check'), /^OK L4OK/)
  const readyBg = await stateBg(page, 'web/a')
  t.notMatch(readyBg, /rgba\(0, 0, 0, 0\)|transparent/, 'state cell is coloured')

  // ids are text, not markup
  t.equal(await page.locator('#inj').count(), 0, 'no element injected')
  t.equal(await cell(page, 'alt/<b id="inj">x</b>', 'id'), '<b id="inj">x</b>')

  // the model flips a backend to down: the row shows DOWN within a few refreshes
  m.backends[1].health = 'down'
  await waitVisible(page, 'tr[data-backend="web/a"] td[data-col="state"]:text-is("DOWN")')
  const downCell = page.locator('tr[data-backend="web/a"] td[data-col="state"]')
  t.match(await downCell.getAttribute('class'), /\bdown\b/)
  t.not(await stateBg(page, 'web/a'), readyBg, 'DOWN has another colour')
  t.match(await cell(page, 'web/a', 'check'), /^FAIL connect ECONNREFUSED/)
  t.equal(await cell(page, 'web/10.0.0.1:3128', 'state'), 'READY', 'other rows unchanged')

  // connection rate from total deltas: grows while total grows
  const grow = setInterval(() => (m.backends[0].total += 50), 200)
  t.teardown(() => clearInterval(grow))
  // The model adds 250 connections/s; a refresh that straddles the start shows less, so wait
  // for a full one (over half the true rate) and check it is not inflated either.
  const rate = await until('a rate computed from deltas', async () => {
    const r = Number(await cell(page, 'web/10.0.0.1:3128', 'rate'))
    return r >= 125 ? r : null
  }, POLL)
  t.ok(rate <= 400, `rate ${rate}/s for 250 added per second (timer slack: <= 400)`)
  clearInterval(grow)

  // a rejected reload is shown
  m.lastError = { at: Date.now(), errors: ['pools[0].policy: unknown policy "x"'] }
  await waitVisible(page, '#err:has-text("unknown policy")')
  t.ok(await page.locator('#err').isVisible())

  // without the token in the fragment the page says so instead of rendering data
  const anon = await ctx.newPage()
  await anon.goto(`${base}/`)
  await waitVisible(anon, '#err:has-text("Unauthorized")')
  t.equal(await anon.locator('tr[data-backend]').count(), 0, 'no rows without the token')

  t.same(pageErrors, [], 'no script errors')
})

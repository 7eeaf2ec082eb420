// The bin refuses an older Node.js at once, with the version it found and what to do,
// instead of starting workers that fail silently (the demo hung on Node 20).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
// @ts-expect-error -- plain JavaScript module of the bin, no declarations
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../../bin/node-version.js'

const check = nodeVersionProblem as (v: string) => string | null

t.test('versions below the minimum are refused with the version and the way out', async (t) => {
  t.equal(MIN_NODE_MAJOR, 24)
  t.match(check('v20.20.2'), /^l4lb needs Node\.js 24 or later; this is Node\.js v20\.20\.2 \(.+\)\. .*npm ci brings Node 24/)
  t.match(check('v23.11.0'), /Node\.js v23\.11\.0/)
  t.equal(check('v24.0.0'), null)
  t.equal(check('v24.21.0'), null)
  t.equal(check('v26.1.0'), null)
  t.not(check('garbage'), null, 'an unreadable version is refused, not waved through')
})

t.test('the bin runs on this Node (the pinned 24)', async (t) => {
  const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/l4lb.js'), '--version'], { encoding: 'utf8', timeout: 30_000 })
  t.equal(r.status, 0)
  t.match(r.stdout, /^l4lb \d+\.\d+\.\d+ \(node v2[4-9]/)
})

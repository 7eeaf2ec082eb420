// npm run lab:drill -- NAME   (e.g. 02, lb-crash or 02-lb-crash)   |   npm run lab:drills (all, in order)
// Runs each drill as its own process (lab/drills/NN-name.ts), in number order, and
// ends with "N passed, N failed". Exits non-zero when any drill failed.
import { readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.dirname(fileURLToPath(import.meta.url))
const all = readdirSync(dir).filter((f) => /^\d\d-[\w-]+\.ts$/.test(f)).sort()
const args = process.argv.slice(2)
const pick = args.includes('--all') ? all : all.filter((f) => args.some((a) => f === a || f === `${a}.ts` || f.startsWith(`${a}-`) || f.slice(3, -3) === a))
if (pick.length === 0) {
  console.error(`usage: lab:drill -- NAME | lab:drills\ndrills: ${all.map((f) => f.slice(0, -3)).join(', ')}`)
  process.exit(2)
}
let passed = 0
let failed = 0
const summary: string[] = []
for (const f of pick) {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [path.join(dir, f)], { stdio: 'inherit', timeout: 300_000 })
  const secs = ((performance.now() - t0) / 1000).toFixed(1)
  if (r.status === 0) passed++
  else failed++
  summary.push(`${r.status === 0 ? 'PASS' : 'FAIL'}  ${f.slice(0, -3)}  (${secs} s)`)
}
console.log('\n' + summary.join('\n'))
console.log(`drills: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)

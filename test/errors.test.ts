// The error registry, its docs and the PROXY parser's codes agree.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ERRORS, TERMINATIONS } from '../src/errors.ts'
import { PROXY_ERROR_CODES } from '../src/net/proxy-protocol/types.ts'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const rows = new Set([...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]))

t.test('every code is documented, and every documented code exists', async (t) => {
  const codes = [...Object.keys(TERMINATIONS), ...Object.keys(ERRORS), ...PROXY_ERROR_CODES]
  for (const c of codes) t.ok(rows.has(c), `${c} documented`)
  for (const r of rows) t.ok(codes.includes(r), `${r} exists in the registry`)
  t.equal(new Set(codes).size, codes.length, 'no code used twice')
})

t.test('termination flags are unique and documented beside their reason', async (t) => {
  const flags = Object.values(TERMINATIONS).map((x) => x.flag)
  t.equal(new Set(flags).size, flags.length)
  for (const [reason, { flag }] of Object.entries(TERMINATIONS)) t.match(doc, new RegExp(`\\| \`${reason}\` \\| \`${flag}\` \\|`))
})

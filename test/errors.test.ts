// The error registry binds, in the style of fastify's test/internals/errors.test.js:
// registry, docs and the PROXY parser's codes agree; every code is unique,
// documented and well formed; every process code is logged by some call site,
// always through CODES, never spelled by hand; retired entries say so.
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { CODES, ERRORS, LIVE_TERMINATIONS, TERMINATIONS } from '../src/errors.ts'
import { PROXY_ERROR_CODES } from '../src/net/proxy-protocol/types.ts'

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const rows = new Set([...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]))
const rowText = (code: string): string => doc.match(new RegExp(`^\\| \`${code}\` \\|.*$`, 'm'))?.[0] ?? ''

const srcDir = new URL('../src/', import.meta.url)
const sources = (readdirSync(srcDir, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && f !== 'errors.ts')
  .map((f) => ({ file: f, text: readFileSync(new URL(f, srcDir), 'utf8') }))

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

t.test('retired reasons are marked retired in the registry and the docs, and cannot be produced', async (t) => {
  for (const [reason, entry] of Object.entries(TERMINATIONS)) {
    const retired = 'retired' in entry
    t.equal(retired, !(LIVE_TERMINATIONS as readonly string[]).includes(reason), `${reason}: live list agrees`)
    t.equal(/\| retired:/.test(rowText(reason)), retired, `${reason}: docs ${retired ? 'say' : 'do not say'} retired`)
    t.equal(entry.text.startsWith('retired:'), retired, `${reason}: registry text agrees`)
  }
  t.ok(LIVE_TERMINATIONS.length >= 10, 'the live reasons are listed')
})

t.test('process codes: well formed, bound through CODES, each logged by a call site', async (t) => {
  t.ok(Object.isFrozen(CODES))
  t.same(Object.keys(CODES), Object.keys(ERRORS), 'one constant per code')
  for (const [code, text] of Object.entries(ERRORS)) {
    t.match(code, /^LB_ERR_[A-Z_]+$/, `${code} is well formed`)
    t.equal(CODES[code as keyof typeof CODES], code)
    t.ok(text.length > 10, `${code} has a meaning`)
    const users = sources.filter((s) => new RegExp(`\\bCODES\\.${code}\\b`).test(s.text)).map((s) => s.file)
    t.ok(users.length > 0, `${code} is used by a call site (${users.join(', ') || 'none: emit it or retire it'})`)
  }
  t.ok(sources.length > 50, 'src/ was read')
  const raw = sources.flatMap((s) => [...s.text.matchAll(/['"`](LB_ERR_[A-Z_]+)/g)].map((m) => `${s.file}: ${m[1]}`))
  t.same(raw, [], 'no code spelled as a string literal outside src/errors.ts')
})

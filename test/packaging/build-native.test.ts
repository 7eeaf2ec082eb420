// scripts/build-native.sh never fails an install: without a C compiler, or
// when the compiler fails, it prints one line saying the JavaScript engine
// will run (and how to get the native one) and exits 0; L4LB_NATIVE_STRICT=1
// turns that into exit 1 for CI.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function build(env: Record<string, string>): { code: number | null; out: string; err: string } {
  const r = spawnSync('sh', [join(ROOT, 'scripts/build-native.sh')], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

t.test('no C compiler: exit 0 and one line naming the JavaScript engine and the fix', async (t) => {
  const r = build({ CC: '/nonexistent/cc' })
  t.equal(r.code, 0, 'the install goes on')
  t.equal(r.out, "l4lb: native engine not built (no C compiler: install gcc, then run 'npm rebuild l4lb' or 'sh scripts/build-native.sh'); l4lb will use the JavaScript engine (see docs/performance.md)\n")
})

t.test('a compiler that fails: exit 0, its first lines on stderr, one line on stdout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-cc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cc = join(dir, 'cc')
  writeFileSync(cc, '#!/bin/sh\necho "cc: internal error" >&2\nexit 1\n')
  chmodSync(cc, 0o755)
  const r = build({ CC: cc })
  t.equal(r.code, 0)
  t.match(r.err, /cc: internal error/)
  t.equal(r.out, 'l4lb: native engine not built (the C compiler failed); l4lb will use the JavaScript engine (see docs/performance.md)\n')
  t.equal(build({ CC: cc, L4LB_NATIVE_STRICT: '1' }).code, 1, 'strict (CI): the failure fails')
})

// A refused config carries its code (LB_ERR_CONFIG_READ or _INVALID) from the
// loader, and `l4lb run` prints that code instead of guessing it from the
// message text. The directory case failed on the old regex in cli/run.ts
// ("is a directory" matched neither "file not found" nor "cannot read", so it
// was reported as LB_ERR_CONFIG_INVALID).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runCommand } from '../../src/cli/run.ts'
import { loadConfigFile } from '../../src/config/load.ts'
import { CODES } from '../../src/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'l4lb-codes-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string): string => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

const CASES: [string, string, string][] = [
  ['missing file', join(dir, 'nope.yaml'), CODES.LB_ERR_CONFIG_READ],
  ['a directory', dir, CODES.LB_ERR_CONFIG_READ],
  ['bad YAML', file('bad.yaml', 'listeners: [\n'), CODES.LB_ERR_CONFIG_INVALID],
  ['empty file', file('empty.yaml', ''), CODES.LB_ERR_CONFIG_INVALID],
  ['schema errors', file('schema.yaml', 'listeners: []\npools: []\n'), CODES.LB_ERR_CONFIG_INVALID],
]

for (const [what, path, code] of CASES) {
  t.test(what, async (t) => {
    const r = await loadConfigFile(path)
    t.equal(r.ok, false)
    if (!r.ok) t.equal(r.code, code, 'the loader sets the code')
    const written: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stderr.write
    let exit: number
    try {
      exit = await runCommand(['-c', path])
    } finally {
      process.stderr.write = write
    }
    t.equal(exit, 1, 'run exits 1')
    t.match(written.join(''), `${path}: invalid configuration (${code})`, 'run prints the same code')
  })
}

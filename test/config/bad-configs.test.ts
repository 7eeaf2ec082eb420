// Table-driven: every test/fixtures/configs/bad/NAME.yaml goes through
// `l4lb check` and must exit 1 with exactly the lines of NAME.errors (in
// order), followed by the count line.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkCommand } from '../../src/cli/check.ts'

const dir = join(import.meta.dirname, '..', 'fixtures', 'configs', 'bad')
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()

t.ok(cases.length >= 20, 'the bad-config table is not empty')

for (const file of cases) {
  t.test(file, async (t) => {
    const expected = readFileSync(join(dir, file.replace(/\.yaml$/, '.errors')), 'utf8').trimEnd().split('\n')
    t.ok(expected.length > 0 && expected[0] !== '', 'the case lists its expected errors')
    const out: string[] = []
    const err: string[] = []
    const path = join(dir, file)
    const code = await checkCommand(['-c', path], { out: (l) => out.push(l), err: (l) => err.push(l) })
    t.equal(code, 1, 'exit code 1')
    t.same(out, [], 'nothing on stdout')
    t.same(err.slice(0, -1), expected, 'every error, one per line')
    const n = expected.length
    t.equal(err.at(-1), `${path}: invalid (${n} error${n === 1 ? '' : 's'})`, 'count line')
  })
}

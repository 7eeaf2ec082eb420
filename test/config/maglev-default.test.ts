// Without maglev-table-size a pool's table keeps M/N >= 1000 (65537 at least),
// sized from the configured backends; an explicit size is kept as given.
import t from 'tap'
import { parseConfig } from '../../src/config/load.ts'

const pool = (n: number, extra = '') => `
listeners: [ { bind: 127.0.0.1:0 } ]
pools:
  - name: p
    ${extra}
    backends:
${Array.from({ length: n }, (_, i) => `      - { host: 127.0.0.1, port: ${1000 + i} }`).join('\n')}
`

t.test('default maglev table size', async (t) => {
  for (const [n, m] of [[1, 65537], [65, 65537], [100, 100003], [700, 700001]] as const) {
    const r = parseConfig(pool(n))
    t.ok(r.ok, `${n} backends: valid`)
    if (r.ok) t.equal(r.config.pools[0].maglevTableSize, m, `${n} backends: M = ${m}`)
  }
  const explicit = parseConfig(pool(100, 'maglev-table-size: 65537'))
  t.ok(explicit.ok && explicit.config.pools[0].maglevTableSize === 65537, 'an explicit size is kept')
  const small = parseConfig(pool(700, 'maglev-table-size: 65537'))
  t.notOk(small.ok, 'an explicit size below 100 x backends is an error')
})

// The registry is the policy table (policies.ts) and nothing else: every row
// builds a picker under its name, a name outside the table throws, and
// src/balancer stays below src/config (it imports nothing from it).
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { POLICIES, HASHING_POLICIES, policiesTaking, type PolicyName } from '../../src/balancer/policies.ts'
import { createPicker, DEFAULT_PICKER_OPTIONS, POLICY_NAMES, tableSpecs } from '../../src/balancer/registry.ts'
import { fleet } from './helpers.ts'

t.test('every row of the table is registered under its name', async (t) => {
  t.same(POLICY_NAMES, Object.keys(POLICIES))
  t.ok(POLICY_NAMES.length >= 7, 'the table is not empty')
  t.ok(Object.isFrozen(POLICY_NAMES))
  for (const name of POLICY_NAMES) t.equal(createPicker(name, fleet(3)).name, name)
})

t.test('traits are consistent', async (t) => {
  // Bounded load is implemented by the hash walk: only hashing pickers can take it.
  t.same(policiesTaking('balance-factor'), HASHING_POLICIES, 'balance-factor is exactly the hashing policies')
  for (const name of POLICY_NAMES) {
    const row = POLICIES[name]
    t.equal(new Set(row.options).size, row.options.length, `${name}: options listed once`)
    t.ok(row.doc.length > 5 && !/[()]/.test(row.doc), `${name}: a doc phrase without parentheses`)
    // A row with a table yields a spec per non-empty set; a row without, none.
    const specs = tableSpecs(name, [fleet(3), []], 1009)
    t.equal(specs.length, row.table === null ? 0 : 1, `${name}: table specs follow the table trait`)
    if (row.table !== null) t.equal(specs[0].kind, row.table)
  }
  t.same(tableSpecs('nope', [fleet(3)], 1009), [], 'a non-policy builds no table')
})

t.test('unknown names throw; defaults are frozen', async (t) => {
  t.throws(() => createPicker('nope' as PolicyName, fleet(1)), TypeError)
  t.throws(() => createPicker('toString' as PolicyName, fleet(1)), TypeError)
  t.ok(Object.isFrozen(DEFAULT_PICKER_OPTIONS))
  t.equal(DEFAULT_PICKER_OPTIONS.tableSize, 65537)
  t.equal(DEFAULT_PICKER_OPTIONS.balanceFactor, 0)
})

t.test('src/balancer imports nothing from src/config (config imports the table)', async (t) => {
  const dir = new URL('../../src/balancer/', import.meta.url)
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
  t.ok(files.length > 10)
  const upward = files.filter((f) => /from\s+['"]\.\.\/config\//.test(readFileSync(new URL(f, dir), 'utf8')))
  t.same(upward, [], 'no upward import')
})

// The schema's policy and health-check rules come from the two tables
// (src/balancer/policies.ts, src/config/check-kinds.ts): every name of a table
// is accepted, a restricted key is accepted exactly on the policies whose row
// lists it, and a check kind's required key is required. A new row is
// covered here without an edit.
import t from 'tap'
import { POLICY_NAMES, takesOption } from '../../src/balancer/policies.ts'
import { CHECK_KIND_NAMES, CHECK_KINDS } from '../../src/config/check-kinds.ts'
import { parseConfig } from '../../src/config/load.ts'
import { OFF } from '../../src/config/schema-pool.ts'
import { jsonSchema } from '../../src/config/json-schema.ts'

function parse(pool: string) {
  return parseConfig(`listeners: [ { bind: 127.0.0.1:0 } ]\npools:\n  - name: p\n    backends: [ { host: 127.0.0.1, port: 9001 } ]\n${pool}`)
}

const ON = { 'balance-factor': '1.5', 'p2c-latency': 'true', 'weigh-by': 'success-latency' } as const satisfies Record<keyof typeof OFF, string>
/** Other keys a restricted key needs to be valid at all (so only the policy is in question). */
const NEEDS: Partial<Record<keyof typeof OFF, string>> = { 'weigh-by': '    observe: http-connect\n' }

t.test('every policy is accepted and lands in the config', async (t) => {
  for (const name of POLICY_NAMES) {
    const r = parse(`    policy: ${name}\n`)
    t.ok(r.ok, name)
    if (r.ok) t.equal(r.config.pools[0].policy, name)
  }
  const bad = parse('    policy: nope\n')
  t.notOk(bad.ok)
  if (!bad.ok) t.match(bad.errors[0], { path: 'pools[0].policy', message: new RegExp(POLICY_NAMES.join('.*')) })
})

t.test('a restricted key is accepted exactly where the table lists it', async (t) => {
  for (const option of Object.keys(ON) as (keyof typeof ON)[]) {
    for (const name of POLICY_NAMES) {
      const r = parse(`    policy: ${name}\n    ${option}: ${ON[option]}\n${NEEDS[option] ?? ''}`)
      if (takesOption(name, option)) t.ok(r.ok, `${name} takes ${option}`)
      else {
        t.notOk(r.ok, `${name} rejects ${option}`)
        if (!r.ok) t.match(r.errors, [{ path: `pools[0].${option}`, message: new RegExp(`^only applies to polic.*\\(policy is ${name}\\)$`) }])
      }
      t.ok(parse(`    policy: ${name}\n    ${option}: ${String(OFF[option])}\n`).ok, `${name}: ${option} off is always accepted`)
    }
  }
})

t.test('maglev-table-size has a minimum only on policies that take it', async (t) => {
  for (const name of POLICY_NAMES) {
    const r = parse(`    policy: ${name}\n    maglev-table-size: 97\n`)
    t.equal(r.ok, !takesOption(name, 'maglev-table-size'), name)
  }
})

t.test('every check kind is accepted; a kind that requires a key requires it', async (t) => {
  type Props = { properties: Record<string, Props & { items: Props; enum?: unknown[] }> }
  const root = jsonSchema() as unknown as Props
  t.same(root.properties.pools.items.properties.health.properties.type.enum, CHECK_KIND_NAMES, 'the JSON Schema lists every kind')
  for (const kind of CHECK_KIND_NAMES) {
    const r = parse(`    health: { type: ${kind} }\n`)
    const requires = CHECK_KINDS[kind].requires
    if (requires === null) {
      t.ok(r.ok, kind)
      continue
    }
    t.notOk(r.ok, `${kind} without ${requires}`)
    if (!r.ok) t.match(r.errors, [{ path: `pools[0].health.${requires}`, message: `required when type is ${kind}` }])
  }
})

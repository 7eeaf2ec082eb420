// The registry knows every PolicyName and nothing else.
import t from 'tap'
import type { PolicyName } from '../../src/config/types.ts'
import { createPicker, DEFAULT_PICKER_OPTIONS, POLICY_NAMES } from '../../src/balancer/registry.ts'
import { fleet } from './helpers.ts'

t.test('every policy is registered under its name', async (t) => {
  const all: PolicyName[] = ['maglev', 'ring', 'round-robin', 'weighted-round-robin', 'least-conn', 'random', 'p2c']
  t.same([...POLICY_NAMES].sort(), [...all].sort())
  for (const name of all) t.equal(createPicker(name, fleet(3)).name, name)
})

t.test('unknown names throw; defaults are frozen', async (t) => {
  t.throws(() => createPicker('nope' as PolicyName, fleet(1)), TypeError)
  t.throws(() => createPicker('toString' as PolicyName, fleet(1)), TypeError)
  t.ok(Object.isFrozen(DEFAULT_PICKER_OPTIONS))
  t.equal(DEFAULT_PICKER_OPTIONS.tableSize, 65537)
  t.equal(DEFAULT_PICKER_OPTIONS.balanceFactor, 0)
})

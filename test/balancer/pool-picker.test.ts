// Backups take flows only when no primary can.
import t from 'tap'
import { createPoolPicker } from '../../src/balancer/pool-picker.ts'
import { POLICY_NAMES } from '../../src/balancer/registry.ts'
import { backend, clientHashes, NONE, options } from './helpers.ts'

const HASHES = clientHashes(200)

for (const policy of POLICY_NAMES) {
  t.test(policy, async (t) => {
    const primaries = [backend('p1'), backend('p2')]
    const backups = [backend('b1'), backend('b2')]
    const p = createPoolPicker(policy, primaries, backups, options())
    let onBackup = 0
    for (const h of HASHES) if (backups.includes(p.pick(h, NONE)!)) onBackup++
    t.equal(onBackup, 0, 'primaries available: no backup')

    let onPrimary = 0
    for (const h of HASHES) if (p.pick(h, [primaries[0]]) !== primaries[1]) onPrimary++
    t.equal(onPrimary, 0, 'one primary tried: the other primary, still no backup')

    let missed = 0
    for (const h of HASHES) if (!backups.includes(p.pick(h, primaries)!)) missed++
    t.equal(missed, 0, 'all primaries tried: a backup')

    primaries[0].maxconn = 1
    primaries[0].load.active = 1
    primaries[1].maxconn = 1
    primaries[1].load.active = 1
    t.ok(backups.includes(p.pick(HASHES[0], NONE)!), 'all primaries at maxconn: a backup')
    t.equal(p.pick(HASHES[0], backups), undefined, 'primaries full, backups tried: none')

    const onlyBackups = createPoolPicker(policy, [], backups, options())
    t.ok(backups.includes(onlyBackups.pick(HASHES[1], NONE)!), 'no primaries: backups')
    const noBackups = createPoolPicker(policy, primaries, [], options())
    t.equal(noBackups.pick(HASHES[1], NONE), undefined, 'no backups and primaries full: none')
  })
}

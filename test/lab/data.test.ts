// lab/lab.yaml is the lab's one source of truth; loadLab() must name a bad key.
// Here: the image check's address (where lab:up runs l4lb's image alone) must be
// on the backend network and held by no node, or two containers would claim it.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LAB_DIR, loadLab } from '../../lab/scripts/lib/data.ts'

const text = readFileSync(join(LAB_DIR, 'lab.yaml'), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'l4lb-labdata-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const withCheckAddr = (addr: string): string => {
  const f = join(dir, `lab-${addr}.yaml`)
  writeFileSync(f, text.replace(/^image-check: \{ addr: [0-9.]+ \}$/m, `image-check: { addr: ${addr} }`))
  return f
}

t.test('the shipped lab.yaml loads, with both images and the check address', async (t) => {
  const lab = loadLab()
  t.equal(lab.l4lbImage, 'l4lb:lab')
  t.match(lab.imageCheck.addr, /^198\.18\.3\.\d+$/)
})

t.test('image-check.addr: outside the backend network, or a node\'s address, is refused by name', async (t) => {
  t.throws(() => loadLab(withCheckAddr('198.18.1.40')), /image-check\.addr \(198\.18\.1\.40\) is outside networks\.be/)
  t.throws(() => loadLab(withCheckAddr('198.18.3.31')), /image-check\.addr \(198\.18\.3\.31\) is also nodes\.be1's address/)
  t.throws(() => loadLab(withCheckAddr('10.0.0.1')), /image-check\.addr .*outside 198\.18\.0\.0\/15/)
})

// pick() does not allocate: measured in a child process (alloc-child.ts) with
// --expose-gc and a 64 MB young generation, so no scavenge can hide garbage
// inside a measured loop. A control picker that allocates must be seen (else
// the method is blind and the test fails), and every real picker must stay
// under 1 byte per pick: one boxed number is 12+ bytes, so even an allocation
// on 1 pick in 12 would show.
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const child = fileURLToPath(new URL('./alloc-child.ts', import.meta.url))

t.test('no allocation per pick, for every policy', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--max-semi-space-size=64', '--min-semi-space-size=64', child],
      { timeout: 90_000, env: { ...process.env, LOG_LEVEL: 'silent' } },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    )
  })
  const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>
  t.ok(result.control >= 8, `the method sees allocation (control: ${result.control.toFixed(1)} B/pick)`)
  const names = Object.keys(result).filter((k) => k !== 'baseline' && k !== 'control')
  t.ok(names.length >= 8, 'all policies measured')
  for (const name of names) t.ok(result[name] < 1, `${name}: ${result[name].toFixed(3)} B/pick`)
})

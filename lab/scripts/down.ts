// npm run lab:down [-- --keep-images] [-- --purge]
// Tears the lab down and undoes what lab:up recorded: containers and networks,
// the DOCKER-USER rules it added, the dockerd it started (by PID) with that
// daemon's data root (unless --keep-images) and the host state the daemon changed
// (sysctls, nftables ruleset, docker0), and the lab cgroup's CPU weight. Safe after a failed or partial up, and twice.
// --purge also drops lab/.state/cache (the debootstrap tarball) and the apt
// packages lab:up installed.
import { rmSync } from 'node:fs'
import path from 'node:path'
import { loadLab, STATE_DIR } from './lib/data.ts'
import { run, log } from './lib/exec.ts'
import { dockerBin, compose, dockerUp } from './lib/docker.ts'
import { removeBridgeAccepts, stopDockerdAndRestore, restoreLabCpuWeight } from './lib/host.ts'
import { readState, updateState } from './lib/state.ts'

const keepImages = process.argv.includes('--keep-images')
const purge = process.argv.includes('--purge')
const lab = loadLab()
const st = readState()
let failed = false
const step = async (what: string, f: () => void | Promise<void>) => {
  try { await f() } catch (e) { failed = true; log(`${what} failed: ${String(e)}`) }
}

await step('compose down', () => {
  if (!dockerUp()) return
  const r = compose(lab, ['down', '--remove-orphans', '--timeout', '3'], 120_000)
  if (r.code !== 0) throw new Error(r.stderr)
  // Anything compose did not know about (a crashed up, a renamed service) still carries the project label.
  const left = run(dockerBin(), ['ps', '-aq', '--filter', `label=com.docker.compose.project=${lab.project}`]).stdout.split('\n').filter(Boolean)
  if (left.length) run(dockerBin(), ['rm', '-f', ...left])
  updateState((s) => { delete s.composeUp })
})
await step('iptables rules', () => removeBridgeAccepts())
await step('CPU weight', () => restoreLabCpuWeight())
await step('dockerd', () => stopDockerdAndRestore(keepImages || !st.dockerd))
await step('leftover bridges', () => {
  // A daemon that died mid-way can leave a lab bridge behind; with no daemon running it is ours to remove.
  if (dockerUp()) return
  for (const net of Object.values(lab.networks)) {
    if (run('ip', ['link', 'show', net.bridge]).code === 0) run('ip', ['link', 'del', net.bridge])
  }
})
if (purge) {
  await step('purge', () => {
    rmSync(path.join(STATE_DIR, 'cache'), { recursive: true, force: true })
    const pk = readState().aptInstalled ?? []
    if (pk.length) {
      log(`removing packages lab:up installed: ${pk.join(' ')}`)
      run('apt-get', ['purge', '-y', '-q', ...pk], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000 })
      updateState((s) => { delete s.aptInstalled })
    }
  })
}
log(failed ? 'lab down with errors (see above)' : 'lab down')
process.exit(failed ? 1 : 0)

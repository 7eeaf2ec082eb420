// /status says what the workers pick with, not only what the primary decided:
// a backend state change is in force only once every worker applied its
// snapshot, and `appliedVersion` / `converged` show whether they have. A worker
// held with SIGSTOP cannot apply a new snapshot, so /status must say so.
import t from 'tap'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { until } from '../helpers/until.ts'

t.test('appliedVersion trails healthVersion while a worker has not applied the snapshot', async (t) => {
  const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const lb = await startCluster({ workers: 2, backends: bes })
  t.teardown(() => lb.stop())

  const settled = await until('at rest: converged, every worker holds healthVersion', async () => {
    const s = await lb.status()
    return s.converged && s.workers.every((w) => w.snapshotVersion === s.healthVersion) ? s : null
  }, { deadlineMs: 5000, intervalMs: 25 })
  t.equal(settled.appliedVersion, settled.healthVersion, 'at rest: appliedVersion === healthVersion')

  const victim = settled.workers[0].pid
  process.kill(victim, 'SIGSTOP')
  let stopped = true
  t.teardown(() => { if (stopped) process.kill(victim, 'SIGCONT') })
  t.equal((await lb.admin('POST', '/backends/b/drain')).status, 200, 'drain b (publishes a new snapshot at once)')
  const lagging = await until('status says drain and the running worker applied it', async () => {
    const s = await lb.status()
    const other = s.workers.find((w) => w.pid !== victim)
    return s.pools[0].backends.find((b) => b.id === 'b')?.state === 'drain' && other?.snapshotVersion === s.healthVersion ? s : null
  }, { deadlineMs: 5000, intervalMs: 25 })
  t.equal(lagging.converged, false, 'not converged while the stopped worker holds the old snapshot')
  t.ok(lagging.appliedVersion < lagging.healthVersion, `appliedVersion ${lagging.appliedVersion} < healthVersion ${lagging.healthVersion}`)
  t.equal(lagging.appliedVersion, lagging.workers.find((w) => w.pid === victim)?.snapshotVersion, 'appliedVersion is the stopped worker\'s version')

  process.kill(victim, 'SIGCONT')
  stopped = false
  const back = await until('converged once the worker runs again', async () => {
    const s = await lb.status()
    return s.converged ? s : null
  }, { deadlineMs: 5000, intervalMs: 25 })
  t.equal(back.appliedVersion, back.healthVersion, 'appliedVersion caught up')
})

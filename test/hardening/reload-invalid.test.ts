// Invalid configs through RELOAD on a real forked primary: a few hundred
// generated invalid variants of the running config, pushed with POST /reload
// and (some) with SIGHUP. Each is answered with errors naming the broken key
// path; the primary and its worker never crash or restart; the running config
// keeps serving after every batch; /status shows the last error, and a valid
// reload clears it.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import { invalidConfigs } from './invalid-configs.ts'

// 300 reloads: ~5 s since a small file is parsed in place (55 s when every
// reload started a thread, which timed out tap's 120 s twice at load 12-21).
// A liveness test, so room under load, not a speed bound.
t.setTimeout(240_000)

const COUNT = 300
const BATCH = 50
const SIGHUP_EVERY = 37 // 8 of the 300 go through SIGHUP

t.test(`${COUNT} invalid configs through reload: rejected with key paths, never a crash, still serving`, async (t) => {
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const c = await startCluster({ workers: 1, backends: [be], pool: { health: { type: 'none' } } })
  t.teardown(() => c.stop())
  const valid = readFileSync(c.configPath, 'utf8')
  const workerPid = (await c.status()).workers[0].pid
  t.equal(await whoServes(c.port), 'a', 'serving before')

  const configs = invalidConfigs(valid, COUNT, Number(process.env.FC_SEED ?? 6))
  const kinds: Record<string, number> = {}
  let viaSignal = 0
  let lastErrors: readonly string[] = []
  const problems: string[] = []
  for (let i = 0; i < configs.length; i++) {
    const cfg = configs[i]
    kinds[cfg.kind] = (kinds[cfg.kind] ?? 0) + 1
    c.writeConfig(cfg.text)
    let errors: readonly string[]
    if (i % SIGHUP_EVERY === SIGHUP_EVERY - 1) {
      const before = (await c.status()).config.lastError?.at ?? 0
      const failuresBefore = await reloadFailures(c)
      c.child.kill('SIGHUP')
      await until(`#${i}: the SIGHUP reload counted as failed`, async () => (await reloadFailures(c)) > failuresBefore, { intervalMs: 20 }).catch((err: Error) => problems.push(err.message))
      const doc = await c.status()
      if (doc.config.lastError === null || doc.config.lastError.at < before) problems.push(`#${i} SIGHUP: no error in /status`)
      errors = doc.config.lastError?.errors ?? []
      viaSignal++
    } else {
      const r = await c.admin('POST', '/reload')
      if (r.status !== 422) problems.push(`#${i} ${cfg.kind} at ${cfg.at}: status ${r.status} ${r.body}`)
      errors = (JSON.parse(r.body) as { errors?: string[] }).errors ?? []
    }
    lastErrors = errors
    if (errors.length === 0) problems.push(`#${i}: no errors`)
    else if (cfg.at !== null && !errors.some((e) => e.startsWith(`${cfg.at}: `))) {
      problems.push(`#${i} ${cfg.kind}: no error names ${cfg.at}: ${JSON.stringify(errors)}`)
    }
    if (i % BATCH === BATCH - 1) {
      const served = await whoServes(c.port).catch((e: Error) => e.message)
      if (served !== 'a') problems.push(`after #${i}: not served (${served})`)
      const s = await c.status()
      if (JSON.stringify(s.config.lastError?.errors) !== JSON.stringify(lastErrors)) problems.push(`after #${i}: /status does not show the last error`)
    }
  }
  t.same(problems.slice(0, 10), [], `every invalid config rejected with its key path (${problems.length} problems)`)
  t.comment(`${COUNT} invalid configs (${JSON.stringify(kinds)}), ${viaSignal} via SIGHUP`)
  t.equal(c.child.exitCode, null, 'the primary is still running')
  const s = await c.status()
  t.equal(s.workers.length, 1)
  t.equal(s.workers[0].pid, workerPid, 'the worker never restarted')
  t.equal(s.workers[0].restarts, 0)
  t.equal(await reloadFailures(c), COUNT, 'every reload counted as rejected')

  c.writeConfig(valid)
  const ok = await c.admin('POST', '/reload')
  t.equal(ok.status, 200, 'a valid config reloads')
  t.equal((await c.status()).config.lastError, null, 'and clears the last error')
  t.equal(await whoServes(c.port), 'a', 'still serving after all of it')
})

async function reloadFailures(c: Awaited<ReturnType<typeof startCluster>>): Promise<number> {
  const r = await c.admin('GET', '/metrics')
  const m = /^l4lb_config_reload_failures_total (\d+)/m.exec(r.body)
  return m ? Number(m[1]) : -1
}

// Every worker maps a client to the same backend, before and after a health
// change; and a worker killed under load is replaced, with only the
// connections it held failing.
import net from 'node:net'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { pooled, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import { threadGroupGone } from '../helpers/proc.ts'
import { forEachEngine } from '../helpers/engines.ts'

forEachEngine((t) => {
  t.test('all workers pick alike, before and after a health change', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const lb = await startCluster({ workers: 3, backends: bes })
    t.teardown(() => lb.stop())
    const clients = Array.from({ length: 40 }, (_, i) => `127.0.7.${i + 1}`)
    // Eight connections per client from different source ports: the kernel spreads them over the workers.
    const round = async () => {
      const names = await pooled(320, 16, (i) => whoServes(lb.port, clients[i % 40]))
      const per = new Map<string, Set<string>>()
      names.forEach((n, i) => {
        const c = clients[i % 40]
        if (!per.has(c)) per.set(c, new Set())
        per.get(c)!.add(n)
      })
      return per
    }
    const before = await round()
    t.ok([...before.values()].every((s) => s.size === 1), 'each client saw exactly one backend')
    await until('every worker took part', async () => (await lb.status()).workers.every((w) => w.acceptedTotal > 0), { deadlineMs: 2000, intervalMs: 25 })
    await bes[2].refuse()
    await until('c down', async () => (await lb.status()).pools[0].backends[2].state === 'down', { deadlineMs: 5000, intervalMs: 25 })
    await until('every worker applied the same snapshot version', async () => {
      const s = await lb.status()
      return s.workers.every((w) => w.snapshotVersion === s.healthVersion)
    }, { deadlineMs: 3000, intervalMs: 25 })
    const after = await round()
    let moved = 0
    let kept = 0
    for (const c of clients) {
      const [b0] = [...before.get(c)!]
      const s = after.get(c)!
      t.equal(s.size, 1, `${c}: one backend after the change`)
      const [b1] = [...s]
      if (b0 === 'c') moved++
      else if (b0 === b1) kept++
    }
    t.equal(kept + moved, 40, `clients on a/b/d kept their backend (${kept}), clients of c moved (${moved})`)
    t.notOk([...after.values()].some((s) => s.has('c')), 'nobody on c')
  })

  t.test('SIGKILL one worker under load: replaced; only its connections fail', async (t) => {
    const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n, 'echo')))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const lb = await startCluster({ workers: 2, backends: bes, pool: { policy: 'round-robin' } })
    t.teardown(() => lb.stop())
    // Long-lived connections spread over both workers.
    const long: net.Socket[] = []
    for (let i = 0; i < 20; i++) {
      const s = net.connect({ port: lb.port, host: '127.0.0.1' })
      s.on('error', () => {})
      await new Promise((r) => s.once('connect', r))
      long.push(s)
    }
    const reported = await until('the workers report the 20 long-lived connections', async () => {
      const s = await lb.status()
      return s.workers.reduce((n, w) => n + w.active, 0) === 20 ? s : null
    }, { deadlineMs: 5000, intervalMs: 25 })
    const victim = reported.workers[0]
    const held = victim.active
    // A bounded load loop: 8 clients, each doing echo round trips on new connections for 3 s.
    let ok = 0
    let failed = 0
    let failedAfterGone = 0 // started once the killed worker had fully exited: must be 0
    let gone = Infinity // when the killed worker's whole thread group was gone (ms, Date.now())
    const stopAt = Date.now() + 3000
    const loop = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < stopAt) {
          const started = Date.now()
          const good = await new Promise<boolean>((resolve) => {
            const s = net.connect({ port: lb.port, host: '127.0.0.1' })
            const tm = setTimeout(() => (s.destroy(), resolve(false)), 2000)
            s.on('error', () => (clearTimeout(tm), resolve(false)))
            s.on('connect', () => s.write('ping'))
            s.on('data', (d) => {
              clearTimeout(tm)
              s.destroy()
              resolve(d.toString() === 'ping')
            })
          })
          if (good) ok++
          else {
            failed++
            if (started > gone) failedAfterGone++
          }
        }
      }),
    )
    await until('the load loop is being served', () => ok >= 20, { deadlineMs: 3000 })
    process.kill(victim.pid, 'SIGKILL')
    // In flight at the kill: a connection already in the victim, and a new one the kernel's
    // SO_REUSEPORT group still queues on its listener until the process has fully exited (its other
    // threads unmap memory before the descriptors close: tens of ms, more under load). Those fail
    // with a reset; any connection started after that must be served.
    gone = await until('the killed worker to be fully gone', () => (threadGroupGone(victim.pid) ? Date.now() : 0), { deadlineMs: 5000, intervalMs: 1 })
    await loop
    const t0 = Date.now()
    await until('the killed worker replaced (a new pid, up, 1 restart)', async () => {
      const w = (await lb.status()).workers[0]
      return w.up && w.pid !== victim.pid && w.restarts === 1
    }, { deadlineMs: 8000, intervalMs: 25 })
    t.comment(`worker replaced ${Date.now() - t0} ms after the load loop ended`)
    // Which long-lived connections still echo?
    const alive = await Promise.all(
      long.map(
        (s) =>
          new Promise<boolean>((resolve) => {
            if (s.destroyed) return resolve(false)
            const tm = setTimeout(() => resolve(false), 1500)
            s.once('data', (d) => (clearTimeout(tm), resolve(d.toString() === 'still?')))
            s.once('close', () => (clearTimeout(tm), resolve(false)))
            s.write('still?')
          }),
      ),
    )
    const lost = alive.filter((x) => !x).length
    for (const s of long) s.destroy()
    t.comment(`load loop: ${ok} ok, ${failed} failed; long-lived lost ${lost}/20; the killed worker held ${held}`)
    t.ok(ok > 50, 'the loop kept being served')
    // Each long-lived connection lives in one worker: exactly the killed one's die, the others echo.
    t.equal(lost, held, `exactly the killed worker's long-lived connections were lost (${lost} of 20; it held ${held})`)
    t.comment(`failed loop connections started before the killed worker was fully gone: ${failed - failedAfterGone}`)
    t.equal(failedAfterGone, 0, `no loop connection started after the killed worker was gone failed (${failed} failed in all, in flight)`)
  })
}, { inProcess: false })

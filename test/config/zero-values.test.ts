// Every key whose documentation gives 0 a meaning behaves as written (issue 9,
// kind 1: "a value documented as off acts as a real duration"). One row per
// key, on real sockets where the key acts on connections. timeouts.idle: 0 and
// timeouts.half-closed: 0 are in test/proxy/timeouts.test.ts (they need the
// sweep and silence); the endings they cause in test/proxy/endings.test.ts.
import net from 'node:net'
import t, { type Test } from 'tap'
import { createPicker } from '../../src/balancer/registry.ts'
import type { PickerBackend } from '../../src/balancer/picker.ts'
import { parseConfig } from '../../src/config/load.ts'
import { PASSIVE_INITIAL, report } from '../../src/health/passive.ts'
import { jittered } from '../../src/health/scheduler.ts'
import { effectiveWeight, nextWeightChangeAt } from '../../src/health/slowstart.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { startBackend } from '../fixtures/backend.ts'
import { ending, seen } from '../helpers/endings.ts'
import { captureLog, connect, silent, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import { buildConfig } from '../helpers/config.ts'

type T = Test

const yaml = (top: string, pool = '') => `
listeners: [{ bind: 127.0.0.1:0 }]
pools:
  - name: p
    backends: [{ host: 127.0.0.1, port: 1 }]
${pool}
${top}
`

/** Parse one YAML document (as `check` would) into its Config. */
function parsed(text: string, cpus = 3) {
  const r = parseConfig(text, { cpus })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.config
}

/** Open `n` connections at once through `port` and hold them; resolve with what each read first. */
async function holdMany(port: number, n: number): Promise<{ names: string[]; socks: net.Socket[] }> {
  const socks = await Promise.all(Array.from({ length: n }, () => connect(port)))
  const names = await Promise.all(socks.map((s) => new Promise<string>((r) => {
    s.once('data', (d: Buffer) => r(d.toString().trim()))
    s.once('close', () => r('(closed)'))
  })))
  return { names, socks }
}

const rows: { key: string; doc: string; check: (t: T) => Promise<void> }[] = [
  {
    key: 'workers',
    doc: '0 = one per CPU',
    check: async (t) => {
      t.equal(parsed(yaml('workers: 0'), 5).workers, 5)
    },
  },
  {
    key: 'shutdown.drain',
    doc: '0 = no drain: reset at once',
    check: async (t) => {
      const be = await startBackend('d', 'silent')
      t.teardown(() => be.close())
      const cfg = buildConfig([be], { top: { shutdown: { drain: 0 } } })
      t.equal(cfg.shutdown.drainMs, 0)
      const lb = new Engine(cfg, { log: silent })
      await lb.start()
      const sock = await connect(lb.listener('test')!.address()!.port)
      await until('be accepts the connection', () => be.accepted === 1)
      const end = ending(sock)
      await lb.shutdown(cfg.shutdown.drainMs) // resolves: a silent backend would hold it open forever
      t.equal(seen(await end), 'reset', 'the open connection was reset')
      t.equal(lb.activeSessions(), 0)
    },
  },
  {
    key: 'shutdown.hard-stop-after',
    doc: '0 = at once',
    check: async (t) => {
      const gone = await startBackend('gone', 'silent')
      const stays = await startBackend('stays', 'silent')
      t.teardown(() => Promise.all([gone.close(), stays.close()]))
      const cfg = buildConfig([gone], { top: { shutdown: { 'hard-stop-after': 0, drain: '1s' } } })
      t.equal(cfg.shutdown.hardStopAfterMs, 0)
      const lb = new Engine(cfg, { log: silent })
      await lb.start()
      t.teardown(() => lb.shutdown(100))
      const sock = await connect(lb.listener('test')!.address()!.port)
      await until('gone accepts the connection', () => gone.accepted === 1)
      const end = ending(sock)
      await lb.applyConfig(buildConfig([stays], { top: { shutdown: { 'hard-stop-after': 0 } } }))
      // The default is 60 s; 5 s of waiting tells "at once" from "never" or "60 s" with ample slack.
      const ended = await Promise.race([end, new Promise<null>((r) => setTimeout(() => r(null), 5000))])
      t.ok(ended !== null && seen(ended) === 'reset', 'the connection on the removed backend was reset at once')
    },
  },
  {
    key: 'listeners[].maxconn',
    doc: '0 = unlimited',
    check: async (t) => {
      const be = await startBackend('m', 'name')
      t.teardown(() => be.close())
      const cfg = buildConfig([be])
      t.equal(cfg.listeners[0].maxconn, 0)
      const lb = new Engine(cfg, { log: silent })
      await lb.start()
      t.teardown(() => lb.shutdown(100))
      const { names, socks } = await holdMany(lb.listener('test')!.address()!.port, 40)
      t.same(new Set(names), new Set(['m']), '40 connections held at once, all served')
      t.equal(lb.stats().listeners[0].rejected, 0)
      for (const s of socks) s.destroy()
    },
  },
  {
    key: 'pools[].backends[].maxconn',
    doc: '0 = unlimited',
    check: async (t) => {
      const be = await startBackend('only', 'name')
      t.teardown(() => be.close())
      const cfg = buildConfig([be], { backend: () => ({ maxconn: 0 }) })
      t.equal(cfg.pools[0].backends[0].maxconn, 0)
      const lb = new Engine(cfg, { log: silent })
      await lb.start()
      t.teardown(() => lb.shutdown(100))
      const { names, socks } = await holdMany(lb.listener('test')!.address()!.port, 40)
      t.same(new Set(names), new Set(['only']), '40 connections to one backend at once')
      for (const s of socks) s.destroy()
    },
  },
  {
    key: 'pools[].backends[].weight',
    doc: '0 = in the pool, no new flows',
    check: async (t) => {
      const [zero, one] = await Promise.all([startBackend('zero'), startBackend('one')])
      t.teardown(() => Promise.all([zero.close(), one.close()]))
      const cfg = buildConfig([zero, one], { backend: (b) => (b.name === 'zero' ? { weight: 0 } : {}) })
      const lb = new Engine(cfg, { log: silent })
      await lb.start()
      t.teardown(() => lb.shutdown(100))
      const port = lb.listener('test')!.address()!.port
      const served = []
      for (let i = 0; i < 10; i++) served.push(await whoServes(port))
      t.same(new Set(served), new Set(['one']), 'every flow to the weighted backend')
      t.equal(zero.accepted, 0)
      t.ok(lb.pools.get('pool')?.allCounters().has('zero'), 'the weight-0 backend is still in the pool')
    },
  },
  {
    key: 'pools[].retries',
    doc: '0 = one try only',
    check: async (t) => {
      const good = await startBackend('good')
      t.teardown(() => good.close())
      const refused = await startBackend('gone')
      await refused.refuse() // its port now refuses
      const cap = captureLog()
      const base = buildConfig([refused, good], { pool: { retries: 0 } })
      const lb = new Engine({ ...base, log: { ...base.log, connections: true } }, { log: cap.log })
      await lb.start()
      t.teardown(() => lb.shutdown(100))
      // Round robin starts at the refusing backend: with no retry the client is not served.
      const got = await ending(net.connect({ port: lb.listener('test')!.address()!.port, host: '127.0.0.1' }))
      t.equal(got.data.length, 0)
      await until('the connection-closed log line', () => cap.lines.some((l) => l.msg === 'connection closed'))
      t.match(cap.lines.find((l) => l.msg === 'connection closed'), { reason: 'connect-failed', tries: 1 })
      t.equal(good.accepted, 0, 'no second backend tried')
    },
  },
  {
    key: 'pools[].slowstart',
    doc: '0 = off (full weight at once)',
    check: async (t) => {
      const cfg = parsed(yaml('', '    slowstart: 0'))
      t.equal(cfg.pools[0].slowstartMs, 0)
      const now = 1_000_000
      t.equal(effectiveWeight(7, now - 1, 0, now), 7, 'full weight 1 ms after coming up')
      t.equal(nextWeightChangeAt(7, now - 1, 0, now), null, 'no ramp scheduled')
    },
  },
  {
    key: 'pools[].balance-factor',
    doc: '0 = bounded load off',
    check: async (t) => {
      const cfg = parsed(yaml('', '    balance-factor: 0'))
      t.equal(cfg.pools[0].balanceFactor, 0)
      const mk = (active: number): PickerBackend[] => ['a', 'b'].map((id) => ({ id, weight: 1, maxconn: 0, load: { active: id === 'a' ? active : 0, latencyEwmaMs: 0 } }))
      const opts = { tableSize: 65537, balanceFactor: 0, p2cLatency: false, random: Math.random }
      const idle = createPicker('maglev', mk(0), opts)
      const busy = createPicker('maglev', mk(1000), opts)
      let same = 0
      for (let h = 0; h < 1000; h++) if (idle.pick(h * 2654435761, [])?.id === busy.pick(h * 2654435761, [])?.id) same++
      t.equal(same, 1000, 'a backend 1000 connections ahead keeps every key it hashes to')
    },
  },
  {
    key: 'pools[].health.jitter',
    doc: '0 = exact intervals',
    check: async (t) => {
      const cfg = parsed(yaml('', '    health: { jitter: 0 }'))
      t.equal(cfg.pools[0].health.jitter, 0)
      for (const u of [0, 0.25, 0.5, 0.999]) t.equal(jittered(2000, 0, () => u), 2000)
    },
  },
  {
    key: 'pools[].passive.consecutive',
    doc: '0 = passive ejection off',
    check: async (t) => {
      const cfg = parsed(yaml('', '    passive: { consecutive: 0 }'))
      const p = cfg.pools[0].passive
      t.equal(p.consecutive, 0)
      let state = PASSIVE_INITIAL
      for (let i = 0; i < 1000; i++) {
        const step = report(state, false, p, { size: 4, unavailable: 0, takingNewFlows: 3 }, 1_000_000 + i)
        t.equal(step.transition, null, `failure ${i + 1}: no transition`)
        state = step.state
      }
      t.equal(state.ejectedUntil, null, '1000 failed connects in a row never eject')
    },
  },
]

for (const row of rows) t.test(`${row.key}: ${row.doc}`, row.check)

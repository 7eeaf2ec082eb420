// The native pump's loop thread when there is nothing to do (stage 3, native
// accept): with a listener open and no connection it waits without a timer
// tick, so an idle l4lb costs no wake-ups; and a backend connect that
// decide() starts while it so waits still meets its connect timeout (the
// loop is woken to link it). Native only; the loop thread is found by its
// name (l4lb-pump) in /proc/self/task and its context switches counted
// (each wake-up from epoll_wait is one).
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { startBlackhole } from '../hardening/blackhole.ts'
import { startBackend } from '../fixtures/backend.ts'
import { nativePump, useEngine } from '../helpers/engines.ts'
import { buildConfig, type Upstream } from '../helpers/config.ts'
import { captureLog, connect, readAll, whoServes } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

type T = { teardown(fn: () => unknown): void }

useEngine(t, 'native')
const pump = nativePump

/** /proc/self/task/<tid> of the pump's loop thread, or null when no thread has its name. */
function loopTask(): string | null {
  for (const tid of readdirSync('/proc/self/task')) {
    const dir = `/proc/self/task/${tid}`
    try {
      if (readFileSync(`${dir}/comm`, 'utf8').trim() === 'l4lb-pump') return dir
    } catch {
      // the thread ended meanwhile
    }
  }
  return null
}

/** Context switches of the thread at `task` so far (voluntary: each wait that blocked, then woke). */
function switches(task: string): number {
  const status = readFileSync(`${task}/status`, 'utf8')
  const n = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN)
  return n('voluntary_ctxt_switches') + n('nonvoluntary_ctxt_switches')
}

/** Wake-ups of the loop thread during `ms` of this process doing nothing. */
async function wakeupsOver(task: string, ms: number): Promise<number> {
  const before = switches(task)
  await holdFor(ms) // the subject: time passing with nothing to do
  return switches(task) - before
}

async function engine(t: T, backends: readonly Upstream[], over: Parameters<typeof buildConfig>[1] = {}) {
  const cap = captureLog()
  const cfg = buildConfig(backends, over)
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(500))
  return { lb, port: lb.listener('test')!.address()!.port, closed: () => cap.lines.filter((l) => l.msg === 'connection closed') }
}

t.test('with a native listener open and no connection, the loop thread does not wake', async (t) => {
  const p = pump()
  const b = await startBackend('b0')
  t.teardown(() => b.close())
  const { port, closed } = await engine(t, [b])
  const accepted = p.counters.accepted
  for (let i = 0; i < 3; i++) t.equal(await whoServes(port), 'b0', `client ${i + 1} served`)
  await until('3 log lines and no connection left in the pump', () => closed().length === 3 && p.owned === 0)
  t.equal(p.counters.accepted - accepted, 3, 'the clients were accepted by the pump (stage 3)')
  const task = loopTask()
  if (task === null) return t.fail('no thread named l4lb-pump in this process')
  const n = await wakeupsOver(task, 1000)
  // A 50 ms tick would be ~20 in 1 s; allow a stray wake or two (a signal, the scheduler).
  t.ok(n <= 3, `${n} wake-up(s) of the idle loop thread in 1 s`)
})

t.test('a connect started while the loop waits with no tick still meets its connect timeout', async (t) => {
  const p = pump()
  const hole = await startBlackhole()
  t.teardown(() => hole.close())
  t.comment(`blackhole on port ${hole.port} after ${hole.fillers} queued connections`)
  const { port, closed } = await engine(t, [{ name: 'hole', port: hole.port }], { top: { timeouts: { connect: '300ms' } }, pool: { retries: 0 } })
  const task = loopTask()
  if (task === null) return t.fail('no thread named l4lb-pump in this process')
  // Until the loop is idle (nothing left from earlier tests or this engine's start).
  await until('the loop thread sleeps (no wake-up in 200 ms)', async () => p.owned === 0 && (await wakeupsOver(task, 200)) === 0, { deadlineMs: 5000 })
  const accepted = p.counters.accepted
  const started = Date.now()
  const sock = await connect(port)
  const got = await Promise.race([readAll(sock), holdFor(5000).then(() => null)])
  const ms = Date.now() - started
  if (got === null) sock.destroy()
  t.not(got, null, `the client was let go (after ${ms} ms)`)
  t.equal(p.counters.accepted - accepted, 1, 'accepted by the pump (stage 3)')
  await until('its log line', () => closed().length === 1)
  t.match(closed()[0], { reason: 'connect-failed', flags: 'sC', tries: 1 }, 'ended by the connect timeout')
  t.ok(ms < 3000, `within the 300 ms connect timeout plus slack (${ms} ms)`)
})

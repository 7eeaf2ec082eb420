// flushingStream in front of a real sonic-boom destination (a temp file):
// a flood of warnings costs one synchronous write per gap, not one per line,
// and still reaches the file within the gap, in order; isolated warnings are
// written before the log call returns; info lines wait for the timer.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { performance } from 'node:perf_hooks'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import { flushingStream } from '../src/log-flush.ts'
import { until } from './helpers/until.ts'

function setup(t: { teardown(fn: () => unknown): void }, everyMs: number, syncGapMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-logflush-'))
  const file = join(dir, 'out.log')
  const dest = pino.destination({ dest: file, sync: false, minLength: 4096 })
  let syncWrites = 0
  const realSync = dest.flushSync.bind(dest)
  dest.flushSync = () => {
    syncWrites++
    realSync()
  }
  const stream = flushingStream(dest, { everyMs, syncFromLevel: 40, syncGapMs })
  const log = pino({ base: null, timestamp: false }, stream)
  t.teardown(() => {
    dest.flushSync = realSync
    dest.destroy()
    rmSync(dir, { recursive: true, force: true })
  })
  const lines = (): { seq: number; level: number }[] => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    } catch {
      return []
    }
  }
  return { log, lines, syncWrites: () => syncWrites, ready: new Promise<void>((r) => dest.once('ready', () => r())) }
}

t.test('an isolated warning is in the file when the call returns, with the info line before it', async (t) => {
  const s = setup(t, 60_000, 10)
  await s.ready
  s.log.info({ seq: 1 })
  t.same(s.lines(), [], 'info waits in the batch')
  s.log.warn({ seq: 2 })
  t.same(s.lines().map((l) => l.seq), [1, 2], 'written synchronously, in order')
  t.equal(s.syncWrites(), 1)
})

t.test('a flood of 5000 warnings: one synchronous write per gap, every line delivered in order', async (t) => {
  const s = setup(t, 60_000, 50)
  await s.ready
  const t0 = performance.now()
  for (let seq = 1; seq <= 5000; seq++) s.log.warn({ seq })
  const loopMs = performance.now() - t0
  // One synchronous write opens each gap: at most 1 + loopMs / gap of them during the loop (not 5000).
  const bound = 1 + Math.ceil(loopMs / 50)
  t.ok(s.syncWrites() <= bound, `${s.syncWrites()} synchronous writes for 5000 warnings in ${Math.round(loopMs)} ms (bound ${bound})`)
  await until('the rest follow after the gap', () => s.lines().length === 5000, { deadlineMs: 5000 })
  t.ok(s.lines().every((l, i) => l.seq === i + 1), 'in order')
})

t.test('info lines are flushed by the timer, without a synchronous write', async (t) => {
  const s = setup(t, 100, 10)
  await s.ready
  s.log.info({ seq: 1 })
  s.log.debug({ seq: 0 }) // below the logger level: never written
  await until('flushed by the timer', () => s.lines().length === 1, { deadlineMs: 5000 })
  t.equal(s.syncWrites(), 0)
})

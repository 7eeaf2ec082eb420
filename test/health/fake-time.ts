// A fake clock for health tests: injectable now() and timers, advanced by hand.
// advance() fires due timers in time order and lets promise callbacks settle
// between them, so async probes resolved by fake timers complete in order.
import type { Timers } from '../../src/health/scheduler.ts'

interface Pending {
  readonly id: number
  readonly at: number
  readonly fn: () => void
}

export interface FakeTime {
  now(): number
  readonly timers: Timers
  /** Timers still pending. */
  pending(): number
  advance(ms: number): Promise<void>
}

const MAX_FIRES = 100_000

export function fakeTime(start = 1_000_000): FakeTime {
  let now = start
  let seq = 0
  const pending = new Map<number, Pending>()
  const timers: Timers = {
    setTimeout(fn, ms) {
      const id = ++seq
      pending.set(id, { id, at: now + Math.max(0, ms), fn })
      return id
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
  }
  async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  return {
    now: () => now,
    timers,
    pending: () => pending.size,
    async advance(ms: number) {
      const target = now + ms
      await settle()
      for (let fired = 0; fired < MAX_FIRES; fired++) {
        let first: Pending | undefined
        for (const p of pending.values()) if (p.at <= target && (!first || p.at < first.at || (p.at === first.at && p.id < first.id))) first = p
        if (!first) break
        pending.delete(first.id)
        now = Math.max(now, first.at)
        first.fn()
        await settle()
      }
      now = target
    },
  }
}

/** Deterministic [0,1) sequence (LCG) for jitter. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

// Polling with a deadline: the lab's only way to wait. until() calls check()
// every intervalMs until it returns a value other than undefined/false, and
// returns { value, elapsedMs }; past the deadline it throws, naming what it waited for.
import { setTimeout as delay } from 'node:timers/promises'
import { wallMs } from '../../node/wallclock.ts'

export interface Waited<T> { value: T; elapsedMs: number }

export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { deadlineMs, intervalMs = 50 }: { deadlineMs: number; intervalMs?: number },
): Promise<Waited<T>> {
  const start = performance.now()
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return { value: v, elapsedMs: performance.now() - start }
    } catch (e) {
      last = e
    }
    if (performance.now() - start > deadlineMs) {
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
    }
    await delay(intervalMs)
  }
}

/** Wall-clock milliseconds with sub-ms precision, comparable across containers (one kernel clock). */
export function nowMs(): number {
  return wallMs()
}

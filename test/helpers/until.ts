// The one way a test waits for something to happen: poll a condition with a
// deadline, never a bare sleep. A miss fails loudly, naming what was awaited
// and the last value seen, so a timeout reads as a finding, not a hang.
import { inspect } from 'node:util'

export interface UntilOptions {
  /** Give up after this many ms (default 5000). */
  deadlineMs?: number
  /** Pause between checks in ms (default 10). */
  intervalMs?: number
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>

/** Why `until` gave up: `what` was awaited for `deadlineMs`; `last` is the check's last result (or the error it threw). */
export class UntilTimeout extends Error {
  readonly what: string
  readonly last: unknown
  constructor(what: string, deadlineMs: number, last: unknown) {
    const seen = inspect(last, { depth: 3, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 300 })
    super(`timed out after ${deadlineMs} ms waiting for: ${what} (last seen: ${seen})`)
    this.name = 'UntilTimeout'
    this.what = what
    this.last = last
  }
}

/**
 * Call `check` (sync or async) every `intervalMs` until it returns a truthy value, and resolve
 * with that value. A check that throws or rejects counts as "not yet" (its error becomes the
 * last value seen). At `deadlineMs` the check runs once more; if that is falsy too, rejects
 * with an UntilTimeout whose message names `what` (text such as "backend b marked down") and
 * the last value seen.
 */
export async function until<T>(what: string, check: () => T | Promise<T>, opts: UntilOptions = {}): Promise<Truthy<T>> {
  const deadlineMs = opts.deadlineMs ?? 5000
  const intervalMs = opts.intervalMs ?? 10
  const end = Date.now() + deadlineMs
  let last: unknown
  for (;;) {
    const past = Date.now() >= end
    try {
      last = await check()
      if (last) return last as Truthy<T>
    } catch (err) {
      last = err
    }
    if (past) throw new UntilTimeout(what, deadlineMs, last)
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, end - Date.now()))))
  }
}

/**
 * Wait `ms` on purpose: for a test whose subject is that time passing (an idle timeout that
 * must NOT fire, a connection that must stay open through silence). Never use it to wait for
 * something to happen; use `until` for that.
 */
export function holdFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// When to probe next: jittered intervals and a keyed set of timers the checker
// can clear all at once. Timers and randomness are injected so tests run on a
// fake clock.
//
// Cadence (HealthChecker): probes of one backend never overlap; the next probe
// starts `jittered(base)` after the previous one STARTED, or as soon as it ends
// if it took longer. base = fastIntervalMs while the dampener is changing state,
// else intervalMs. The first probe is spread over one interval (random x interval)
// so many backends do not all fire together. Hence a backend that dies is down
// within about interval(1+j) + (fall-1) x max(fast(1+j), timeout) + timeout,
// which is <= fall x interval x (1+j) + timeout when fast and timeout <= interval.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Node's timers, unref'd: health checks alone never keep the process alive. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** base x (1 + jitter x u), u uniform in [-1, 1); jitter clamped to [0, 1]; at least 1 ms. */
export function jittered(baseMs: number, jitter: number, random: () => number): number {
  const j = Math.min(1, Math.max(0, jitter))
  return Math.max(1, baseMs * (1 + j * (2 * random() - 1)))
}

/** Delay from now until the next probe, given how long ago the last one started. */
export function nextDelay(baseMs: number, jitter: number, random: () => number, sinceStartMs: number): number {
  return Math.max(0, jittered(baseMs, jitter, random) - Math.max(0, sinceStartMs))
}

/** Delay before a backend's first probe: spread uniformly over one interval. */
export function firstDelay(intervalMs: number, random: () => number): number {
  return Math.max(0, intervalMs) * random()
}

/** Named one-shot timers: setting a key replaces its timer; clearAll() leaves none. */
export class KeyedTimers {
  readonly #timers: Timers
  readonly #handles = new Map<string, unknown>()

  constructor(timers: Timers) {
    this.#timers = timers
  }

  set(key: string, delayMs: number, fn: () => void): void {
    this.clear(key)
    const handle = this.#timers.setTimeout(() => {
      if (this.#handles.get(key) === handle) this.#handles.delete(key)
      fn()
    }, Math.max(0, delayMs))
    this.#handles.set(key, handle)
  }

  clear(key: string): void {
    const handle = this.#handles.get(key)
    if (handle === undefined) return
    this.#handles.delete(key)
    this.#timers.clearTimeout(handle)
  }

  clearAll(): void {
    for (const handle of this.#handles.values()) this.#timers.clearTimeout(handle)
    this.#handles.clear()
  }

  get size(): number {
    return this.#handles.size
  }
}

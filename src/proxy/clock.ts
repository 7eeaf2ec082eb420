// A coarse clock and one sweep timer per process instead of a timer per
// socket (as HAProxy keeps `now_ms`): sessions stamp activity with `now` and
// the sweeper checks their deadlines every tick. Timeouts therefore fire up to
// one tick late, which is far below any sane timeout.
//
// Times are whole ms on the process's monotonic clock (../mono.ts): a
// wall-clock step cannot fire or stall a timeout, and a session's time fields
// stay small integers V8 keeps unboxed.
import { monoMs } from '../mono.ts'

export interface Sweepable {
  sweep(now: number): void
}

export class Clock {
  /** monoMs() at the last tick (ms). */
  now = monoMs()
  private timer: NodeJS.Timeout | null = null
  private readonly targets = new Set<Sweepable>()

  readonly tickMs: number

  constructor(tickMs = 50) {
    this.tickMs = tickMs
  }

  add(target: Sweepable): void {
    this.targets.add(target)
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs)
      this.timer.unref()
    }
  }

  delete(target: Sweepable): void {
    this.targets.delete(target)
    if (this.targets.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }

  tick(): void {
    this.now = monoMs()
    for (const t of this.targets) t.sweep(this.now)
  }
}

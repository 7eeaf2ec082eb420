// Wall-clock time for the lab's processes, in epoch ms with sub-ms precision,
// comparable across containers (one kernel clock) and with the drills' marks
// (svc.sh's `date +%s.%N`, pino's times, file mtimes). `performance.timeOrigin +
// performance.now()` alone follows the monotonic clock from the process start
// and drifts from the wall clock while the host's clock is slewed (measured
// here: 0.55 ms in 30 s, so a responder or agent alive for a whole lab session
// was tens of ms off by the end: drill 18 counted a CONNECT answered before
// its switch as one after it). This re-reads the wall clock every call and
// keeps the monotonic clock's fraction: off by less than 1 ms, never going
// backwards within a process.
let last = 0

/** Epoch ms (wall clock), sub-ms precision, non-decreasing within this process. */
export function wallMs(): number {
  const wall = Date.now()
  const frac = (performance.timeOrigin + performance.now()) % 1
  // Date.now() truncates to whole ms; the monotonic clock's fraction fills in below that.
  const t = Math.max(last, wall + frac)
  last = t
  return t
}

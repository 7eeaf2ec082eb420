// The process's monotonic clock in whole milliseconds. Intervals, deadlines
// and ages (timeouts, drain deadlines, how long a worker lived, how old the
// fleet's last health result is) are measured on it, never on the wall clock:
// a step of the wall clock (NTP correcting a drifted clock, `date -s`) would
// otherwise fire or stall every one of them at once. HAProxy keeps its
// `now_ms` the same way. Wall-clock times (Date.now()) remain for what is shown
// to people or compared across machines (log timestamps, "loaded at", the
// fleet's result documents).

/**
 * Whole milliseconds since this process started (performance.now(), floored):
 * non-decreasing, unaffected by wall-clock steps. Below 2^31 for the first
 * 24.8 days of uptime, so V8 stores it unboxed in an object's field (16 bytes
 * less per field than a double); later values are boxed, never wrong.
 */
export function monoMs(): number {
  return Math.floor(performance.now())
}

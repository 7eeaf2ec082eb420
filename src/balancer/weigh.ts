// weigh-by: success-latency, the part p2c.ts and random.ts share: the
// latency a backend is weighed by, the time a client waits for its tunnel:
// the connect to the proxy plus the proxy's CONNECT answer (its own connect
// onward), each an EWMA. Pure, no allocation.
import type { BackendLoad } from './picker.ts'

/**
 * Connect latencies below this (ms) count as this: under a millisecond the
 * difference between two backends is the balancer's own scheduling noise
 * (event-loop lag, a busy core), not the proxy, and a ratio of such noise
 * (0.05 ms against 0.5 ms) would outweigh the success rate.
 */
export const WEIGH_LATENCY_FLOOR_MS = 1

/**
 * The latency (ms) `weigh-by: success-latency` divides by: connect EWMA plus
 * CONNECT-answer EWMA (0 while no 2xx answer was timed), at least the floor;
 * 0 (no connect measured yet) stays 0.
 */
export function weighLatency(load: BackendLoad): number {
  const ms = load.latencyEwmaMs === 0 ? 0 : load.latencyEwmaMs + (load.answerEwmaMs ?? 0)
  return ms > 0 && ms < WEIGH_LATENCY_FLOOR_MS ? WEIGH_LATENCY_FLOOR_MS : ms
}

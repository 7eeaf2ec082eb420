// weigh-by: success-latency, the part p2c.ts and random.ts share: the
// latency a backend is weighed by. Pure, no allocation.

/**
 * Connect latencies below this (ms) count as this: under a millisecond the
 * difference between two backends is the balancer's own scheduling noise
 * (event-loop lag, a busy core), not the proxy, and a ratio of such noise
 * (0.05 ms against 0.5 ms) would outweigh the success rate.
 */
export const WEIGH_LATENCY_FLOOR_MS = 1

/** The latency (ms) `weigh-by: success-latency` divides by: the EWMA, at least the floor; 0 (unknown) stays 0. */
export function weighLatency(ewmaMs: number): number {
  return ewmaMs > 0 && ewmaMs < WEIGH_LATENCY_FLOOR_MS ? WEIGH_LATENCY_FLOOR_MS : ewmaMs
}

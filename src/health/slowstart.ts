// Slow start: a backend that comes back into service ramps its weight up
// linearly over `slowstartMs`, like HAProxy's `slowstart` (server_recalc_eweight:
// ceil(weight x elapsed / slowstart)), so a cold proxy is not flooded at once.
// Pure: the clock is an argument.
//
// It applies only after a return to service (BackendHealth.slowstartSince, set on
// down -> up and on un-ejection), never at process start (sinceMs null), as in
// HAProxy.

/**
 * Effective integer weight at `now`.
 * - weight <= 0                         -> 0 (takes no new flows; slow start never revives it)
 * - sinceMs null, slowstartMs <= 0, or elapsed >= slowstartMs -> weight
 * - otherwise max(1, ceil(weight x elapsed / slowstartMs)); elapsed < 0 counts as 0,
 *   so a backend in slow start always keeps at least weight 1 (pickers need > 0).
 */
export function effectiveWeight(weight: number, sinceMs: number | null, slowstartMs: number, now: number): number {
  if (weight <= 0) return 0
  if (sinceMs === null || slowstartMs <= 0) return weight
  const elapsed = Math.max(0, now - sinceMs)
  if (elapsed >= slowstartMs) return weight
  return Math.max(1, Math.ceil((weight * elapsed) / slowstartMs))
}

/**
 * Epoch ms at which effectiveWeight(weight, sinceMs, slowstartMs, t) first differs
 * from its value at `now`, for scheduling a picker rebuild; null when it will not
 * change any more (full weight, no slow start, or weight 0).
 */
export function nextWeightChangeAt(
  weight: number,
  sinceMs: number | null,
  slowstartMs: number,
  now: number,
): number | null {
  if (weight <= 0 || sinceMs === null || slowstartMs <= 0) return null
  const current = effectiveWeight(weight, sinceMs, slowstartMs, now)
  if (current >= weight) return null
  // Smallest elapsed e with ceil(weight x e / slowstartMs) > current, i.e.
  // weight x e / slowstartMs > current  <=>  e > current x slowstartMs / weight.
  const threshold = (current * slowstartMs) / weight
  let at = sinceMs + Math.floor(threshold) + 1
  // Guard the float arithmetic: step forward until the weight really changes (bounded).
  for (let i = 0; i < 4 && effectiveWeight(weight, sinceMs, slowstartMs, at) === current; i++) at++
  return Math.max(at, now + 1)
}

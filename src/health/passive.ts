// Passive ejection (outlier detection) from what workers see: pure, time injected.
//
// Semantics follow Envoy's consecutive-failure outlier detection:
// - Workers report each connect attempt: ok=false for refused/timed out, ok=true
//   for connected. `consecutive` failures in a row (a success resets the run) make
//   the backend an outlier. consecutive = 0 turns passive ejection off.
// - An outlier is ejected for baseEjectionMs x multiplier, capped at
//   max(maxEjectionMs, baseEjectionMs), where multiplier counts ejections in a row:
//   it grows by one per ejection and decays by one per full decay period
//   (max(maxEjectionMs, baseEjectionMs)) spent back in service, as Envoy decays it
//   while a host stays healthy.
// - Max-percent guard: ejection is allowed when no other backend of the pool is
//   unavailable, or when the share already unavailable (other backends down by
//   active checks or ejected) is below maxEjectionPercent. So at least one backend
//   can always be ejected (Envoy: "will eject at least one host regardless of the
//   value"), and at most one beyond the percentage. A denied attempt restarts the
//   run, like Envoy resetting its consecutive counter.
// - Reports about an ejected backend are ignored (in-flight stragglers); ejection
//   ends only by time (`expire`).
import type { PassiveConfig } from '../config/types.ts'

export interface PassiveState {
  readonly failures: number // consecutive failures in the current run
  readonly ejectedUntil: number | null
  readonly ejections: number // total ejections (for /status)
  readonly multiplier: number // ejections in a row, for the backoff
  readonly returnedAt: number | null // when last un-ejected, for decaying the multiplier
}

/** Other backends of the same pool, for the max-percent guard. */
export interface PoolAvailability {
  readonly size: number // backends in the pool, this one included
  readonly unavailable: number // OTHER backends currently down (active) or ejected
}

export interface PassiveStep {
  readonly state: PassiveState
  readonly transition: 'eject' | 'uneject' | null
  /** An outlier was found but the max-percent guard refused the ejection. */
  readonly denied: boolean
}

export const PASSIVE_INITIAL: PassiveState = Object.freeze({
  failures: 0,
  ejectedUntil: null,
  ejections: 0,
  multiplier: 0,
  returnedAt: null,
})

/** Whether one more backend may be ejected from `pool` (see the guard above). */
export function ejectionAllowed(pool: PoolAvailability, maxEjectionPercent: number): boolean {
  if (pool.unavailable <= 0) return true
  if (pool.size <= 0) return false
  return (100 * pool.unavailable) / pool.size < maxEjectionPercent
}

/** Ejection length for the n-th ejection in a row (n >= 1). */
export function ejectionMs(config: PassiveConfig, multiplier: number): number {
  const cap = Math.max(config.maxEjectionMs, config.baseEjectionMs)
  return Math.min(config.baseEjectionMs * Math.max(1, multiplier), cap)
}

/** Fold one worker report into the state. Never mutates. */
export function report(
  state: PassiveState,
  ok: boolean,
  config: PassiveConfig,
  pool: PoolAvailability,
  now: number,
): PassiveStep {
  if (config.consecutive <= 0 || state.ejectedUntil !== null) return same(state)
  if (ok) return state.failures === 0 ? same(state) : step({ ...state, failures: 0 }, null)
  const failures = state.failures + 1
  if (failures < config.consecutive) return step({ ...state, failures }, null)
  if (!ejectionAllowed(pool, config.maxEjectionPercent)) {
    return { state: { ...state, failures: 0 }, transition: null, denied: true }
  }
  const multiplier = decayed(state, config, now) + 1
  return step(
    {
      failures: 0,
      ejectedUntil: now + ejectionMs(config, multiplier),
      ejections: state.ejections + 1,
      multiplier,
      returnedAt: state.returnedAt,
    },
    'eject',
  )
}

/** End the ejection once `now` reaches ejectedUntil. */
export function expire(state: PassiveState, now: number): PassiveStep {
  if (state.ejectedUntil === null || now < state.ejectedUntil) return same(state)
  return step({ ...state, ejectedUntil: null, failures: 0, returnedAt: now }, 'uneject')
}

/** Multiplier after decaying one step per full period spent in service. */
function decayed(state: PassiveState, config: PassiveConfig, now: number): number {
  if (state.returnedAt === null || state.multiplier === 0) return state.multiplier
  const period = Math.max(config.maxEjectionMs, config.baseEjectionMs, 1)
  const steps = Math.floor(Math.max(0, now - state.returnedAt) / period)
  return Math.max(0, state.multiplier - steps)
}

function same(state: PassiveState): PassiveStep {
  return { state, transition: null, denied: false }
}

function step(state: PassiveState, transition: PassiveStep['transition']): PassiveStep {
  return { state, transition, denied: false }
}

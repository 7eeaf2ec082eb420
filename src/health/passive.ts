// Passive ejection (outlier detection) from what workers see: pure, time injected.
//
// Semantics follow Envoy's consecutive-failure outlier detection
// (envoyproxy/envoy source/common/upstream/outlier_detection_impl.cc), with one
// safety rule Envoy leaves to its panic threshold:
// - Workers report each connect attempt: ok=false for refused/timed out, ok=true
//   for connected. `consecutive` failures in a row (a success resets the run) make
//   the backend an outlier. consecutive = 0 turns passive ejection off.
// - An outlier is ejected for baseEjectionMs x multiplier, capped at
//   max(maxEjectionMs, baseEjectionMs), where multiplier counts ejections in a row:
//   it grows by one per ejection and decays by one per full decay period
//   (max(maxEjectionMs, baseEjectionMs)) spent back in service, as Envoy decays it
//   while a host stays healthy.
// - Max-percent guard, Envoy's DetectorImpl::ejectHost without
//   `always_eject_one_host`: ejecting is allowed only while, counting this backend,
//   100 x unavailable <= size x maxEjectionPercent, i.e. at most
//   floor(size x percent / 100) backends are out. "Unavailable" counts the other
//   backends already ejected AND those the active checks hold down (stricter than
//   Envoy, which counts ejected hosts only). So 1 backend at 50 % (floor 0.5 = 0)
//   is never ejected, 2 at 50 % lose at most one, 3 at 50 % at most one.
// - Last-backend guard: an ejection is refused when no other backend of the pool
//   (backups included) could take new flows: passive ejection never empties a
//   pool that an active check still calls up. (Envoy reaches the same end with its
//   panic threshold: with too few healthy hosts it balances over all of them.)
// - A denied attempt restarts the run, like Envoy resetting its consecutive counter.
// - Reports about an ejected backend are ignored (in-flight stragglers). Ejection
//   ends by time (`expire`) or early (`endEarly`) when an active check started after
//   the ejection passes, as Envoy's `successful_active_health_check_uneject_host`
//   (default true) and HAProxy's `observe layer4` + `on-error mark-down`, where the
//   server returns once its checks pass again.
import type { PassiveConfig } from '../config/types.ts'

export interface PassiveState {
  readonly failures: number // consecutive failures in the current run
  readonly ejectedAt: number | null // epoch ms the current ejection began, null when not ejected
  readonly ejectedUntil: number | null
  readonly ejections: number // total ejections (for /status)
  readonly multiplier: number // ejections in a row, for the backoff
  readonly returnedAt: number | null // when last un-ejected, for decaying the multiplier
}

/** The rest of the pool, seen from the backend being judged. */
export interface PoolAvailability {
  readonly size: number // backends in the pool, this one included
  readonly unavailable: number // OTHER backends currently down (active) or ejected
  /** OTHER backends that take new flows now (not down, not ejected, not drained or in maint, weight > 0), backups included. */
  readonly takingNewFlows: number
}

/** Why an ejection was refused. */
export type Denial = 'max-ejection-percent' | 'last-backend'

export interface PassiveStep {
  readonly state: PassiveState
  readonly transition: 'eject' | 'uneject' | null
  /** An outlier was found but a guard refused the ejection; null otherwise. */
  readonly denied: Denial | null
}

export const PASSIVE_INITIAL: PassiveState = Object.freeze({
  failures: 0,
  ejectedAt: null,
  ejectedUntil: null,
  ejections: 0,
  multiplier: 0,
  returnedAt: null,
})

/**
 * Whether one more backend may be ejected from `pool`: null when allowed, else the
 * guard that refuses it (see the head comment). Integer arithmetic, so 1 x 50 %
 * rounds down to 0 exactly as Envoy's `100 * (active + 1) / size <= max`.
 */
export function ejectionDenial(pool: PoolAvailability, maxEjectionPercent: number): Denial | null {
  if (pool.takingNewFlows <= 0) return 'last-backend'
  if (100 * (pool.unavailable + 1) > pool.size * maxEjectionPercent) return 'max-ejection-percent'
  return null
}

/** Most backends of a pool of `size` that may be out at once: floor(size x percent / 100). */
export function maxEjectable(size: number, maxEjectionPercent: number): number {
  return Math.floor((size * maxEjectionPercent) / 100)
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
  const denied = ejectionDenial(pool, config.maxEjectionPercent)
  if (denied !== null) return { state: { ...state, failures: 0 }, transition: null, denied }
  const multiplier = decayed(state, config, now) + 1
  return step(
    {
      failures: 0,
      ejectedAt: now,
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
  return back(state, now)
}

/**
 * End the ejection now: an active check that started after `ejectedAt` passed.
 * The multiplier is kept (it decays with time in service), so a backend that
 * fails again soon is ejected for longer.
 */
export function endEarly(state: PassiveState, now: number): PassiveStep {
  return state.ejectedUntil === null ? same(state) : back(state, now)
}

function back(state: PassiveState, now: number): PassiveStep {
  return step({ ...state, ejectedAt: null, ejectedUntil: null, failures: 0, returnedAt: now }, 'uneject')
}

/** Multiplier after decaying one step per full period spent in service. */
function decayed(state: PassiveState, config: PassiveConfig, now: number): number {
  if (state.returnedAt === null || state.multiplier === 0) return state.multiplier
  const period = Math.max(config.maxEjectionMs, config.baseEjectionMs, 1)
  const steps = Math.floor(Math.max(0, now - state.returnedAt) / period)
  return Math.max(0, state.multiplier - steps)
}

function same(state: PassiveState): PassiveStep {
  return { state, transition: null, denied: null }
}

function step(state: PassiveState, transition: PassiveStep['transition']): PassiveStep {
  return { state, transition, denied: null }
}

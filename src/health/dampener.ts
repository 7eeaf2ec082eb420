// Rise/fall dampening of probe results: pure, no clock, no I/O.
//
// Semantics (HAProxy's documented `rise`/`fall`, counted as consecutive results):
// - A new backend starts `unknown`, which the rest of the system treats as up:
//   it takes traffic before its first check, like HAProxy starting servers UP.
// - unknown: the first success gives the verdict `up` at once; `fall`
//   consecutive failures give `down`.
// - up:   `fall` consecutive failures give `down`; a success resets the streak.
// - down: `rise` consecutive successes give `up`; a failure resets the streak.
// - `streak` counts consecutive results that disagree with the verdict; while it
//   is > 0 the backend is "changing state" and the scheduler probes it at
//   fastIntervalMs.
// rise and fall below 1 are treated as 1.
import type { HealthVerdict } from './types.ts'

export interface DampenerState {
  readonly verdict: HealthVerdict
  readonly streak: number
}

export type Transition = 'up' | 'down' | null

export interface DampenerStep {
  readonly state: DampenerState
  /** The verdict changed to this, or null. unknown -> up is reported as 'up'. */
  readonly transition: Transition
}

export const INITIAL: DampenerState = Object.freeze({ verdict: 'unknown', streak: 0 })

/** Fold one probe result into the state. Returns a new state; never mutates. */
export function next(state: DampenerState, probeOk: boolean, rise: number, fall: number): DampenerStep {
  const r = Math.max(1, rise)
  const f = Math.max(1, fall)
  const { verdict } = state
  if (probeOk) {
    if (verdict === 'up') return step('up', 0, null)
    if (verdict === 'unknown') return step('up', 0, 'up')
    const streak = state.streak + 1
    return streak >= r ? step('up', 0, 'up') : step('down', streak, null)
  }
  if (verdict === 'down') return step('down', 0, null)
  const streak = state.streak + 1
  return streak >= f ? step('down', 0, 'down') : step(verdict, streak, null)
}

/** True while some rise/fall progress is made but no transition yet. */
export function changing(state: DampenerState): boolean {
  return state.streak > 0
}

function step(verdict: HealthVerdict, streak: number, transition: Transition): DampenerStep {
  return { state: { verdict, streak }, transition }
}

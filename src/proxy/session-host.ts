// What a session needs from the listener that accepted it. Kept as an
// interface so sessions can be driven by a test host as well.
import type { TimeoutsConfig } from '../config/types.ts'
import type { PassiveReport } from '../health/types.ts'
import type { Clock } from './clock.ts'
import type { PoolRuntime } from './pool-runtime.ts'
import type { Session } from './session.ts'
import type { NativePump } from './native-engine.ts'

export interface SessionHost {
  readonly pool: PoolRuntime
  readonly timeouts: TimeoutsConfig
  readonly clock: Clock
  /** The native engine for newly established sessions, or null: this process's JavaScript engine moves them. */
  readonly pump: NativePump | null
  /** Passive health: a connect failed, or succeeded after failures (see PassiveReport). */
  reportPassive(report: PassiveReport): void
  /** Both sides are closed: unlink, count and log it. Called exactly once per session. */
  sessionEnded(session: Session): void
}

// Probes by check kind. The checker never switches on the kind name itself.
// Kinds and their traits are one table (src/config/check-kinds.ts); this map's
// type requires a probe for every kind the table marks active.
import { isActiveCheck, type ActiveCheckType, type HealthCheckType } from '../../config/check-kinds.ts'
import type { ProbeFn } from '../types.ts'
import { connectProbe } from './connect.ts'
import { httpProbe } from './http.ts'
import { tcpProbe } from './tcp.ts'

const probes: Readonly<Record<ActiveCheckType, ProbeFn>> = Object.freeze({
  tcp: tcpProbe,
  http: httpProbe,
  connect: connectProbe,
})

/** The probe for `type`, or null for a kind that does not dial (`none`). */
export function probeFor(type: HealthCheckType): ProbeFn | null {
  return isActiveCheck(type) ? probes[type] : null
}

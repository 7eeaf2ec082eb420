// Probes by check type. The checker never switches on the type name itself.
// `none` has no probe: such backends are always up and never dialled.
import type { HealthCheckType } from '../../config/types.ts'
import type { ProbeFn } from '../types.ts'
import { connectProbe } from './connect.ts'
import { httpProbe } from './http.ts'
import { tcpProbe } from './tcp.ts'

const probes: Readonly<Record<Exclude<HealthCheckType, 'none'>, ProbeFn>> = Object.freeze({
  tcp: tcpProbe,
  http: httpProbe,
  connect: connectProbe,
})

/** The probe for `type`, or null for `none` (no active checks). */
export function probeFor(type: HealthCheckType): ProbeFn | null {
  return type === 'none' ? null : probes[type]
}

// tcp probe: the backend is up when a TCP connection to it succeeds within
// timeoutMs (and, for PROXY backends, the header of its send-proxy version is
// handed over: v1 "PROXY UNKNOWN", v2 LOCAL).
// Details: L4OK, L4TOUT, L4CON <code>. See dial.ts for the socket contract.
import type { BackendConfig, HealthConfig } from '../../config/types.ts'
import type { DataPathSettings, ProbeResult } from '../types.ts'
import { dial } from './dial.ts'

export function tcpProbe(backend: BackendConfig, health: HealthConfig, signal?: AbortSignal, dataPath?: DataPathSettings): Promise<ProbeResult> {
  return dial(backend, health, null, signal, dataPath)
}

// connect probe: the backends are forward proxies, so ask the backend to open a
// tunnel: `CONNECT <connectTarget> HTTP/1.1` and expect a 2xx status line. This
// checks the proxy's own upstream path, not only that it accepts TCP.
// Details: CONNECT <status> (ok when 2xx), L7RSP bad status line, L7TOUT, plus
// dial.ts's L4* details; "CONNECT no target" without health.connectTarget
// (config validation requires one; nothing is dialled).
import type { BackendConfig, HealthConfig } from '../../config/types.ts'
import type { DataPathSettings, ProbeResult } from '../types.ts'
import { authority, dial, parseStatusLine, type Verdict } from './dial.ts'

export function connectRequest(target: string): string {
  return `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nUser-Agent: l4lb-health\r\n\r\n`
}

export function judgeConnect(line: string): Verdict {
  const status = parseStatusLine(line)
  if (status === null) return { ok: false, detail: 'L7RSP bad status line' }
  return { ok: status >= 200 && status <= 299, detail: `CONNECT ${status}` }
}

export async function connectProbe(
  backend: BackendConfig,
  health: HealthConfig,
  signal?: AbortSignal,
  dataPath?: DataPathSettings,
): Promise<ProbeResult> {
  const target = health.connectTarget
  if (!target) return { ok: false, detail: 'CONNECT no target', durationMs: 0 }
  const exchange = { request: connectRequest(authority(target.host, target.port)), judge: judgeConnect }
  return dial(backend, health, exchange, signal, dataPath)
}

// http probe: send one `<method> <path> HTTP/1.1` request (Host header from
// health.http.host, default the backend's host:port; Connection: close) and read
// only the status line. Up when the status is inside health.http.expectStatus
// (inclusive). Details: L7OK <status>, L7STS <status>, L7RSP bad status line,
// L7TOUT, plus dial.ts's L4* details.
import type { BackendConfig, HealthConfig } from '../../config/types.ts'
import type { DataPathSettings, ProbeResult } from '../types.ts'
import { authority, dial, parseStatusLine, type Verdict } from './dial.ts'

export function httpRequest(backend: BackendConfig, health: HealthConfig): string {
  const { method, path } = health.http
  const host = health.http.host ?? authority(backend.host, backend.port)
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: l4lb-health\r\nConnection: close\r\n\r\n`
}

export function judgeHttp(line: string, expect: readonly [number, number]): Verdict {
  const status = parseStatusLine(line)
  if (status === null) return { ok: false, detail: 'L7RSP bad status line' }
  const ok = status >= expect[0] && status <= expect[1]
  return { ok, detail: `${ok ? 'L7OK' : 'L7STS'} ${status}` }
}

export function httpProbe(backend: BackendConfig, health: HealthConfig, signal?: AbortSignal, dataPath?: DataPathSettings): Promise<ProbeResult> {
  const exchange = {
    request: httpRequest(backend, health),
    judge: (line: string) => judgeHttp(line, health.http.expectStatus),
  }
  return dial(backend, health, exchange, signal, dataPath)
}

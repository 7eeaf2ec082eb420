// A scripted probe on the fake clock: `behaviour(id, now)` decides each probe at
// its start. 'stall' resolves as a timeout after health.timeoutMs of fake time,
// or as 'aborted' when the checker aborts it. Records every call.
import type { ProbeFn, ProbeResult } from '../../src/health/types.ts'
import type { FakeTime } from './fake-time.ts'

export type Behaviour = 'ok' | 'refused' | 'stall'

export interface ProbeCall {
  readonly id: string
  readonly at: number
  result: ProbeResult | null
}

export interface FakeProbe {
  readonly probe: ProbeFn
  readonly calls: ProbeCall[]
  /** Probes in flight now, per backend id, and the most ever seen at once. */
  readonly inflight: Map<string, number>
  maxInflight: number
  count(id: string): number
}

export function fakeProbe(clock: FakeTime, behaviour: (id: string, now: number) => Behaviour): FakeProbe {
  const calls: ProbeCall[] = []
  const inflight = new Map<string, number>()
  const fp: FakeProbe = {
    calls,
    inflight,
    maxInflight: 0,
    count: (id) => calls.filter((c) => c.id === id).length,
    probe: (backend, health, signal) => {
      const call: ProbeCall = { id: backend.id, at: clock.now(), result: null }
      calls.push(call)
      const n = (inflight.get(backend.id) ?? 0) + 1
      inflight.set(backend.id, n)
      fp.maxInflight = Math.max(fp.maxInflight, n)
      const done = (r: ProbeResult): ProbeResult => {
        inflight.set(backend.id, (inflight.get(backend.id) ?? 1) - 1)
        call.result = r
        return r
      }
      const b = behaviour(backend.id, clock.now())
      if (b === 'ok') return Promise.resolve(done({ ok: true, detail: 'L4OK', durationMs: 0 }))
      if (b === 'refused') return Promise.resolve(done({ ok: false, detail: 'L4CON ECONNREFUSED', durationMs: 0 }))
      return new Promise<ProbeResult>((resolve) => {
        const handle = clock.timers.setTimeout(
          () => resolve(done({ ok: false, detail: 'L4TOUT', durationMs: health.timeoutMs })),
          health.timeoutMs,
        )
        signal?.addEventListener('abort', () => {
          clock.timers.clearTimeout(handle)
          resolve(done({ ok: false, detail: 'aborted', durationMs: 0 }))
        })
      })
    },
  }
  return fp
}

// One agent poll (HAProxy `agent-check`): connect to the agent, write
// `agent-send` if any, read one line (ended by CR or LF) and close. Bounded in
// time (`timeoutMs` from the start, connect included) and memory (at most
// MAX_AGENT_LINE + 1 bytes are kept, whatever the agent sends). Resolves
// exactly once, never rejects, destroys its socket in every case.
//
// Failures are not health results: HAProxy ignores an agent it cannot reach
// ("connectivity is tested by the regular health check"), and so do we; the
// poller logs the reason and leaves the backend as the agent last set it.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { MAX_AGENT_LINE, splitAgentLine } from '../agent-line.ts'

export type AgentAnswer =
  | { readonly ok: true; readonly line: string; readonly durationMs: number }
  | { readonly ok: false; readonly reason: string; readonly durationMs: number }

export interface AgentTarget {
  readonly host: string
  readonly port: number
  readonly send: string | null
  readonly timeoutMs: number
}

/** How one poll is made; the poller's default is askAgent (tests inject others). */
export type AskAgent = (target: AgentTarget, signal?: AbortSignal) => Promise<AgentAnswer>

/**
 * Poll the agent at `target` once. Reasons on failure: `connect <code>`,
 * `timeout after <n>ms (<k> bytes, no line end)`, `closed before a line end
 * (<k> bytes)`, `line longer than 1024 bytes`, `<code>` (a socket error after
 * connecting), `aborted`.
 */
export const askAgent: AskAgent = (target, signal) => {
  const started = performance.now()
  return new Promise<AgentAnswer>((resolve) => {
    let done = false
    let connected = false
    let received = Buffer.alloc(0)
    const sock = new net.Socket()
    const end = (a: { ok: true; line: string } | { ok: false; reason: string }): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      sock.destroy()
      resolve({ ...a, durationMs: performance.now() - started })
    }
    const fail = (reason: string): void => end({ ok: false, reason })
    const onAbort = (): void => fail('aborted')
    const timer = setTimeout(() => fail(connected ? `timeout after ${target.timeoutMs}ms (${received.length} bytes, no line end)` : `connect timeout after ${target.timeoutMs}ms`), Math.max(1, target.timeoutMs))
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    sock.on('error', (err: NodeJS.ErrnoException) => fail(connected ? (err.code ?? err.message) : `connect ${err.code ?? err.message}`))
    sock.on('end', () => fail(`closed before a line end (${received.length} bytes)`))
    sock.on('close', () => fail(connected ? `closed before a line end (${received.length} bytes)` : 'connect closed'))
    sock.on('data', (chunk: Buffer) => {
      // Keep at most MAX_AGENT_LINE + 1 bytes: enough to find the line end or to know there is none.
      const room = MAX_AGENT_LINE + 1 - received.length
      received = Buffer.concat([received, room < chunk.length ? chunk.subarray(0, room) : chunk])
      const split = splitAgentLine(received)
      if (split.kind === 'line') end({ ok: true, line: split.line })
      else if (split.kind === 'too-long') fail(`line longer than ${MAX_AGENT_LINE} bytes`)
    })
    sock.on('connect', () => {
      connected = true
      if (target.send !== null) sock.write(target.send)
    })
    sock.setNoDelay(true)
    sock.connect({ host: target.host, port: target.port })
  })
}

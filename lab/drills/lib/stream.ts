// A long-running command inside a lab container (load generator, route watcher)
// whose stdout is JSON lines. Lines are collected as they arrive; waitFor()
// polls them with a deadline; stop() writes "stop" to its stdin and resolves
// once it has exited (killing it after a deadline).
import { spawn, type ChildProcess } from 'node:child_process'
import { dockerBin } from '../../scripts/lib/docker.ts'
import { until } from '../../scripts/lib/poll.ts'

export type Ev = Record<string, unknown> & { ev: string }

export class Stream {
  readonly events: Ev[] = []
  private proc: ChildProcess
  private exited: Promise<number>
  stderr = ''

  constructor(containerName: string, argv: string[]) {
    this.proc = spawn(dockerBin(), ['exec', '-i', containerName, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
    let buf = ''
    this.proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString()
      let k: number
      while ((k = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, k)
        buf = buf.slice(k + 1)
        try { this.events.push(JSON.parse(line) as Ev) } catch { /* not ours */ }
      }
    })
    this.proc.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.exited = new Promise((resolve) => this.proc.on('close', (code) => resolve(code ?? 128)))
  }

  of(ev: string): Ev[] { return this.events.filter((e) => e.ev === ev) }

  async waitFor(what: string, pred: (e: Ev) => boolean, deadlineMs: number): Promise<Ev> {
    return (await until(what, () => this.events.find(pred), { deadlineMs, intervalMs: 10 })).value
  }

  /** Waits until check() (evaluated once per poll, not once per event) is true; deadline-bounded. */
  async until(what: string, check: () => boolean, deadlineMs: number): Promise<void> {
    await until(what, () => check() || undefined, { deadlineMs, intervalMs: 10 })
  }

  /** Asks the process to stop, waits for {ev:"done"} or exit (deadline), then kills what is left. */
  async stop(deadlineMs = 15_000): Promise<void> {
    this.proc.stdin?.write('stop\n')
    this.proc.stdin?.end()
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), deadlineMs)
    await this.exited
    clearTimeout(timer)
  }

  /** Waits for natural exit (burst mode), deadline-bounded. */
  async done(deadlineMs = 60_000): Promise<number> {
    this.proc.stdin?.end()
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), deadlineMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

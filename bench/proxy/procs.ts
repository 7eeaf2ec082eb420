// Process management for the proxy benchmark: every process the bench starts is
// recorded here by PID and stopped by PID (its own process group, which holds only
// what it forked), on success, on error and on SIGINT/SIGTERM. Nothing is stopped by
// name. Children run with the open-files limit raised to the hard limit, since the
// idle-connection measure needs ~18,000 descriptors in one proxy.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync, readFileSync } from 'node:fs'
import net from 'node:net'

export interface Proc {
  readonly name: string
  readonly pid: number
  readonly logFile: string
  readonly child: ChildProcess
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  exitedYet: boolean
}

const running = new Set<Proc>()

// `ulimit -n` raised to the hard limit in the shell, then `exec` so the PID is the tool's own.
const RAISE_FD = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"'

/**
 * Starts `cmd args` with stdout+stderr appended to `logFile`, in its own process group.
 * Returns once spawned; use waitForPort to know it is serving. Throws if it cannot spawn.
 */
export function startProc(name: string, cmd: string, args: readonly string[], logFile: string, cwd?: string, env?: NodeJS.ProcessEnv): Proc {
  const fd = openSync(logFile, 'a')
  const child = spawn('sh', ['-c', RAISE_FD, cmd, ...args], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`)
  return track(name, child, logFile)
}

function track(name: string, child: ChildProcess, logFile: string): Proc {
  let resolveExit: (v: number | string) => void = () => {}
  const exited = new Promise<number | string>((resolve) => {
    resolveExit = resolve
  })
  const proc: Proc = { name, pid: child.pid as number, logFile, child, exited, exitedYet: false }
  child.on('exit', (code, signal) => {
    proc.exitedYet = true
    running.delete(proc)
    resolveExit(code ?? signal ?? 'unknown')
  })
  child.on('error', () => {
    proc.exitedYet = true
    running.delete(proc)
    resolveExit('spawn-error')
  })
  running.add(proc)
  return proc
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal) // the group this child leads: itself and what it forked
  } catch {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

/** Stops one process: SIGTERM to its group, SIGKILL after `graceMs`. Never throws. */
export async function stopProc(proc: Proc, graceMs = 3000): Promise<void> {
  if (proc.exitedYet) {
    signalGroup(proc.pid, 'SIGKILL') // a leader that exited may have left workers behind
    return
  }
  signalGroup(proc.pid, 'SIGTERM')
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref())
  const result = await Promise.race([proc.exited, timer])
  // Kill the group in any case: forked workers must not outlive their leader.
  signalGroup(proc.pid, 'SIGKILL')
  if (result === 'timeout') await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 1000).unref())])
}

/** Stops every process still recorded, in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProc(p)))
}

let handlersInstalled = false
let stopping = false

/** True once SIGINT/SIGTERM arrived: callers should start nothing new. */
export function isStopping(): boolean {
  return stopping
}

/** Installs SIGINT/SIGTERM/exit handlers that stop what this module started. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  const onSignal = (signal: NodeJS.Signals): void => {
    stopping = true
    process.stderr.write(`\nbench: ${signal}, stopping ${running.size} process(es)\n`)
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // Last resort when the loop is gone (uncaught error, process.exit): synchronous SIGKILL.
  process.on('exit', () => {
    for (const p of running) signalGroup(p.pid, 'SIGKILL')
  })
}

/** The last `lines` lines of a log file, for error messages. */
export function tailLog(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** True when some socket listens on 127.0.0.1:`port` (or 0.0.0.0:`port`), read from /proc/net/tcp. */
function listening(port: number): boolean {
  let text: string
  try {
    text = readFileSync('/proc/net/tcp', 'utf8')
  } catch {
    return false
  }
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    // 0A = LISTEN; 0100007F = 127.0.0.1, 00000000 = any
    if (f[3] === '0A' && (f[1] === `0100007F:${hex}` || f[1] === `00000000:${hex}`)) return true
  }
  return false
}

/**
 * Polls until something listens on 127.0.0.1:`port` or `timeoutMs` passes. Reads the
 * socket table rather than connecting, so a probe never reaches a backend (an iperf3
 * server takes any connection for a test's control connection).
 * Fails early if `proc` exits meanwhile. Throws with the log's tail on failure.
 */
export async function waitForPort(port: number, proc: Proc | null, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc?.exitedYet) throw new Error(`${proc.name} exited before listening on ${port}:\n${tailLog(proc.logFile)}`)
    if (listening(port)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  const where = proc ? `${proc.name} (log ${proc.logFile}):\n${tailLog(proc.logFile)}` : `port ${port}`
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${where}`)
}

/** `count` distinct free TCP ports on 127.0.0.1 (held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const srv = net.createServer()
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject)
        srv.listen(0, '127.0.0.1', () => resolve())
      })
      servers.push(srv)
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))))
  }
}

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

/**
 * Runs a load tool to completion, killed after `timeoutMs` (every run is bounded).
 * Recorded like any other process, so Ctrl-C stops it too. Never throws on exit status.
 */
export function runTool(cmd: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    if (child.pid === undefined) {
      reject(new Error(`could not spawn ${cmd}`))
      return
    }
    const pid = child.pid
    const proc: Proc = { name: cmd, pid, logFile: '', child, exited: Promise.resolve(0), exitedYet: false }
    running.add(proc)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      signalGroup(pid, 'SIGKILL')
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      running.delete(proc)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      proc.exitedYet = true
      running.delete(proc)
      resolve({ code, stdout, stderr, timedOut })
    })
  })
}

/**
 * Starts `cmd args` (open-files limit raised) with stdin and stdout piped to this
 * process, stderr appended to `logFile`; recorded for cleanup like startProc.
 */
export function startPiped(name: string, cmd: string, args: readonly string[], logFile: string): Proc {
  const fd = openSync(logFile, 'a')
  const child = spawn('sh', ['-c', RAISE_FD, cmd, ...args], { detached: true, stdio: ['pipe', 'pipe', fd] })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`)
  return track(name, child, logFile)
}

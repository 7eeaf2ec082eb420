// Thin wrappers over child_process for the host-side scripts.
// run() never throws on a non-zero exit: it returns { code, stdout, stderr };
// must() throws with the command line and its stderr.
import { spawn, spawnSync } from 'node:child_process'

export interface Result { code: number; stdout: string; stderr: string }
export interface RunOpts { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }

export function run(cmd: string, args: string[], opts: RunOpts = {}): Result {
  const r = spawnSync(cmd, args, {
    input: opts.input, timeout: opts.timeoutMs ?? 300_000, env: opts.env ?? process.env, cwd: opts.cwd,
    encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  })
  const code = r.status ?? (r.error ? 127 : 128)
  return { code, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') }
}

export function must(cmd: string, args: string[], opts: RunOpts = {}): string {
  const r = run(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-2000)}`)
  return r.stdout
}

/** Async variant, for running several commands at once (docker exec into many nodes). */
export function runAsync(cmd: string, args: string[], opts: RunOpts = {}): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    p.stdout.on('data', (d: Buffer) => { stdout += d })
    p.stderr.on('data', (d: Buffer) => { stderr += d })
    p.on('error', (e) => { stderr += String(e) })
    p.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 128, stdout, stderr }) })
    p.stdin.end(opts.input ?? '')
  })
}

export function which(bin: string): string | null {
  const r = run('sh', ['-c', `command -v ${bin}`])
  return r.code === 0 ? r.stdout.trim() : null
}

export function log(msg: string): void {
  const t = new Date().toISOString().slice(11, 23)
  process.stderr.write(`[lab ${t}] ${msg}\n`)
}

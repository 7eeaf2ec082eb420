// Which docker and compose binaries to drive, and small helpers around them.
// Prefers the distribution's /usr/bin/docker (same release as the daemon it
// installed) unless DOCKER is set; compose is docker-compose v1 when present,
// else the `docker compose` v2 plugin.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { run, runAsync, must, which, type Result } from './exec.ts'
import { LAB_DIR, type Lab } from './data.ts'

// Resolved on each call: lab:up may install docker.io after this module was loaded.
export function dockerBin(): string {
  return process.env.DOCKER ?? (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker')
}
export const COMPOSE_FILE = path.join(LAB_DIR, 'compose.yaml')

export function dockerUp(): boolean {
  return run(dockerBin(), ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 }).code === 0
}

export function docker(args: string[], timeoutMs = 300_000): string {
  return must(dockerBin(), args, { timeoutMs, env: { ...process.env, DOCKER_BUILDKIT: '0' } })
}

export function compose(lab: Lab, args: string[], timeoutMs = 300_000): Result {
  const base = ['-p', lab.project, '-f', COMPOSE_FILE]
  if (which('docker-compose')) return run('docker-compose', [...base, ...args], { timeoutMs })
  return run(dockerBin(), ['compose', ...base, ...args], { timeoutMs })
}

export function composeAvailable(): boolean {
  return which('docker-compose') !== null || run(dockerBin(), ['compose', 'version']).code === 0
}

/** docker exec NAME sh -c SCRIPT; resolves with the result, never rejects. */
export function execIn(name: string, script: string, timeoutMs = 30_000): Promise<Result> {
  return runAsync(dockerBin(), ['exec', name, 'sh', '-c', script], { timeoutMs })
}

export function containerRunning(name: string): boolean {
  const r = run(dockerBin(), ['inspect', '-f', '{{.State.Running}}', name])
  return r.code === 0 && r.stdout.trim() === 'true'
}

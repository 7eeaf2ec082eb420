// What lab:up changed on the host, so lab:down can put it back and nothing else.
// Stored as lab/.state/host.json (gitignored). Every field is optional: down
// works from whatever a half-finished up managed to record.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { STATE_DIR } from './data.ts'

export interface HostState {
  aptInstalled?: string[]          // packages lab:up installed (kept by down; removed by down --purge)
  dockerd?: { pid: number; pidfile: string; log: string; dataRoot: string; execRoot: string; createdDataRoot: boolean }
  before?: { sysctls: Record<string, string>; nftFile?: string; docker0: boolean }
  iptablesRules?: string[][]       // argument lists after -I/-D, e.g. ['DOCKER-USER', '-i', 'br', ...]
  composeUp?: boolean
  cpuWeight?: { file: string; before: string } // the lab's docker cgroup CPU weight before lab:up raised it
}

const FILE = path.join(STATE_DIR, 'host.json')

export function readState(): HostState {
  if (!existsSync(FILE)) return {}
  return JSON.parse(readFileSync(FILE, 'utf8')) as HostState
}

export function writeState(s: HostState): void {
  mkdirSync(STATE_DIR, { recursive: true })
  writeFileSync(FILE, JSON.stringify(s, null, 2) + '\n')
}

/** Read-modify-write, so each step records its change the moment it makes it. */
export function updateState(f: (s: HostState) => void): HostState {
  const s = readState()
  f(s)
  writeState(s)
  return s
}

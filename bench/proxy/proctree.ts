// Reads /proc for the measures: the process tree under a PID, its CPU time and its
// resident memory, and the number of established TCP sockets on given local ports.
// Linux only (the bench runs on Linux; perf is not needed).
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

interface StatLine {
  readonly ppid: number
  readonly utime: number // clock ticks
  readonly stime: number
}

function readStat(pid: number): StatLine | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) may hold spaces or parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); field n is rest[n - 3].
  return { ppid: Number(rest[1]), utime: Number(rest[11]), stime: Number(rest[12]) }
}

/** `root` and all its descendants that are alive now; [] when `root` is gone. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const st = readStat(pid)
    if (!st) continue
    const list = children.get(st.ppid)
    if (list) list.push(pid)
    else children.set(st.ppid, [pid])
  }
  if (!readStat(root)) return []
  const out: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    out.push(pid)
    for (const c of children.get(pid) ?? []) stack.push(c)
  }
  return out
}

export interface CpuSample {
  readonly userSec: number
  readonly systemSec: number
}

/** CPU time (user, system) used so far by the tree under `root`, in seconds. */
export function treeCpu(root: number): CpuSample {
  let u = 0
  let s = 0
  for (const pid of processTree(root)) {
    const st = readStat(pid)
    if (!st) continue
    u += st.utime
    s += st.stime
  }
  return { userSec: u / CLK_TCK, systemSec: s / CLK_TCK }
}

/** Resident memory of the tree under `root`, in bytes (sum of VmRSS; 0 when gone). */
export function treeRss(root: number): number {
  let kb = 0
  for (const pid of processTree(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (m) kb += Number(m[1])
    } catch {
      // exited between listing and reading
    }
  }
  return kb * 1024
}

/** Established TCP (IPv4) sockets whose local port is one of `ports`. */
export function establishedOn(ports: readonly number[]): number {
  const want = new Set(ports)
  let n = 0
  let text: string
  try {
    text = readFileSync('/proc/net/tcp', 'utf8')
  } catch {
    return 0
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4 || f[3] !== '01') continue // 01 = ESTABLISHED
    const port = parseInt(f[1].slice(f[1].indexOf(':') + 1), 16)
    if (want.has(port)) n++
  }
  return n
}

// What /proc says about a process the tests killed.
import { readFileSync, readdirSync } from 'node:fs'

/**
 * True when process `pid` no longer runs any thread: it is reaped (no /proc entry), or its leader is a
 * zombie and no other thread is left. Under SIGKILL a Node process's leader turns zombie first while
 * its other threads still unmap memory; its sockets (a listener in a SO_REUSEPORT group) close only
 * after that, so "the leader is a zombie" is too early to call the process gone.
 */
export function threadGroupGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state !== 'Z' && state !== 'X') return false
    return readdirSync(`/proc/${pid}/task`).length <= 1
  } catch {
    return true
  }
}

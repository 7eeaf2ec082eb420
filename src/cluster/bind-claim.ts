// Exclusive ownership of listener addresses on this host (primary only).
//
// Workers listen with SO_REUSEPORT so the kernel spreads connections between
// them. Linux lets any socket of the same effective UID that also sets
// SO_REUSEPORT join that group, so a second l4lb started on the same address
// would silently take part of the traffic. Before any worker binds an
// address, the primary therefore:
//  1. takes a lock: it listens on the abstract unix socket
//     "\0l4lb/listen/HOST/PORT". The kernel allows one socket per name and
//     network namespace (the same scope as TCP ports) and frees it when the
//     process dies: nothing on disk, no stale lock after a crash or SIGKILL,
//     and two instances starting at the same instant cannot both win. The
//     lock answers every connection with its owner's pid, so the loser can
//     say who holds the address.
//  2. probes: binds and listens once WITHOUT SO_REUSEPORT and closes at once.
//     That fails with EADDRINUSE when anything listens there (any UID,
//     reuseport or not, l4lb or not, a wildcard bind covering the address),
//     and surfaces EACCES and EADDRNOTAVAIL before a worker is forked.
// The lock is held as long as a listener uses the address.
//
// Deliberate hand-over (`l4lb run --hand-over`, like HAProxy's `-sf` or
// Envoy's hot-restart epochs): for an address whose lock another l4lb holds,
// the new instance skips the probe, its workers join the old instance's
// SO_REUSEPORT group, and it takes the lock as soon as the old instance
// releases it (retried every second), so a third one is refused again.
import net from 'node:net'
import type { Logger } from 'pino'
import type { ListenerConfig } from '../config/types.ts'
import { BindError, listenerLabel } from '../proxy/bind-error.ts'
import { canonicalHost, formatHostPort } from '../net/ip.ts'

export const LOCK_RETRY_MS = 1000

/** The abstract unix socket name that locks `host:port` (Linux only; the leading NUL makes it abstract). */
export function lockName(host: string, port: number): string {
  return `\0l4lb/listen/${canonicalHost(host)}/${port}`
}

/** Listen once; resolve with the server, or the error listen() raised. */
function tryListen(opts: net.ListenOptions, onConnection?: (s: net.Socket) => void): Promise<net.Server | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const server = net.createServer(onConnection)
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err))
    server.listen(opts, () => resolve(server))
  })
}

/** Ask the lock on `name` for its owner's pid; null when it does not answer within 500 ms. */
function lockOwner(name: string): Promise<number | null> {
  return new Promise((resolve) => {
    const s = net.connect({ path: name })
    let buf = ''
    const done = (pid: number | null): void => {
      clearTimeout(timer)
      s.destroy()
      resolve(pid)
    }
    const timer = setTimeout(() => done(null), 500)
    s.on('data', (d) => {
      buf += d.toString()
      if (buf.includes('\n')) done(Number.parseInt(buf, 10) || null)
    })
    s.on('error', () => done(null))
    s.on('close', () => done(null))
  })
}

const answerPid = (s: net.Socket): void => {
  s.on('error', () => {})
  s.end(`${process.pid}\n`)
}

export interface AddressClaimsOptions {
  /** Join addresses another l4lb holds instead of refusing them (see the head comment). */
  readonly handOver?: boolean
  readonly log?: Logger
}

interface Held {
  lock: net.Server | null // null: waiting for the previous owner to let go (hand-over)
  retry: NodeJS.Timeout | null
}

const keyOf = (l: ListenerConfig): string => `${canonicalHost(l.bind.host)}|${l.bind.port}`

/** The listener addresses this primary owns, each with its lock. */
export class AddressClaims {
  private readonly held = new Map<string, Held>()
  private readonly opts: AddressClaimsOptions

  constructor(opts: AddressClaimsOptions = {}) {
    this.opts = opts
  }

  /** Is the address of `l` held (or being taken over) by this primary? */
  has(l: ListenerConfig): boolean {
    return this.held.has(keyOf(l))
  }

  /**
   * Claim the address of every listener in `listeners` not held yet. All or
   * nothing: on the first failure it releases what this call took and throws
   * a BindError naming that listener and address. Resolves with the keys it
   * took, for `release` (a reload that is rolled back).
   */
  async claim(listeners: readonly ListenerConfig[]): Promise<string[]> {
    const taken: string[] = []
    try {
      for (const l of listeners) {
        const k = keyOf(l)
        if (this.held.has(k)) continue
        this.held.set(k, await this.claimOne(l))
        taken.push(k)
      }
    } catch (err) {
      this.release(taken)
      throw err
    }
    return taken
  }

  /** Let go of the given addresses (keys from `claim`). */
  release(keys: Iterable<string>): void {
    for (const k of keys) {
      const h = this.held.get(k)
      if (!h) continue
      this.held.delete(k)
      if (h.retry) clearTimeout(h.retry)
      h.lock?.close()
    }
  }

  /** Keep only the addresses `listeners` use (after a reload committed). */
  keepOnly(listeners: readonly ListenerConfig[]): void {
    const wanted = new Set(listeners.map(keyOf))
    this.release([...this.held.keys()].filter((k) => !wanted.has(k)))
  }

  releaseAll(): void {
    this.release([...this.held.keys()])
  }

  private async claimOne(l: ListenerConfig): Promise<Held> {
    const { host, port } = l.bind
    const name = lockName(host, port)
    const lock = await tryListen({ path: name }, answerPid)
    if (lock instanceof net.Server) lock.unref() // a lock never keeps the process alive
    else {
      if (lock.code !== 'EADDRINUSE') throw BindError.from(listenerLabel(l.name), host, port, lock)
      const pid = await lockOwner(name)
      const who = `another l4lb${pid === null ? '' : ` (pid ${pid})`} on this host already serves it`
      if (!this.opts.handOver) {
        throw new BindError(listenerLabel(l.name), host, port, 'EADDRINUSE', `${who}; stop it first, or start with --hand-over to take over from it deliberately`)
      }
      this.opts.log?.warn({ listener: l.name, address: formatHostPort(host, port), pid }, `hand-over: ${who}; sharing it until that instance stops`)
      const h: Held = { lock: null, retry: null }
      this.retryLock(h, name)
      return h
    }
    const probe = await tryListen({ host, port, exclusive: true })
    if (!(probe instanceof net.Server)) {
      lock.close()
      throw BindError.from(listenerLabel(l.name), host, port, probe)
    }
    await new Promise<void>((r) => probe.close(() => r()))
    return { lock, retry: null }
  }

  private retryLock(h: Held, name: string): void {
    h.retry = setTimeout(async () => {
      h.retry = null
      const lock = await tryListen({ path: name }, answerPid)
      if (lock instanceof net.Server) {
        lock.unref()
        // Released meanwhile (reload removed the address): do not keep it.
        if (![...this.held.values()].includes(h)) return void lock.close()
        h.lock = lock
        this.opts.log?.info({ lock: name.slice(1) }, 'hand-over: the previous instance let go; this one now holds the address alone')
      } else if ([...this.held.values()].includes(h)) this.retryLock(h, name)
    }, LOCK_RETRY_MS)
    h.retry.unref()
  }
}

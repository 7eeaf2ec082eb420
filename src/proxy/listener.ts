// One listening socket and the sessions it accepted. In a cluster every
// worker opens its own socket on the same address with SO_REUSEPORT, so the
// kernel spreads connections across workers without the primary in the path.
// On the native engine a plain listener's socket is accepted on by the pump
// (stage 3, native-accept.ts): JavaScript still binds it, then gives the pump
// a dup and closes its own handle; a reload that makes it ineligible takes
// the socket back (clients queued in the kernel meanwhile are not lost).
import { closeSync } from 'node:fs'
import net from 'node:net'
import { constants } from 'node:os'
import type { Logger } from 'pino'
import type { ListenerConfig, TimeoutsConfig } from '../config/types.ts'
import type { PassiveReport } from '../health/types.ts'
import { TERMINATIONS } from '../errors.ts'
import { BindError, listenerLabel } from './bind-error.ts'
import { formatHostPort } from '../net/ip.ts'
import { compileCidrs } from './cidr.ts'
import { FD_PROBE_MS, probeDescriptors } from './fd-probe.ts'
import type { BackendRuntime } from './backend-runtime.ts'
import type { Clock, Sweepable } from './clock.ts'
import { monoMs } from '../mono.ts'
import type { PoolRuntime } from './pool-runtime.ts'
import { readProxyHeader } from './proxy-accept.ts'
import { Session } from './session.ts'
import { checkTimeouts, sessionLeft, startSession } from './connect.ts'
import type { SessionHost } from './session-host.ts'
import { CODES } from '../errors.ts'
import type { NativePump } from './native-engine.ts'
import { canAcceptNatively, listenNatively, type NativeAcceptHost } from './native-accept.ts'
import { closedSocket } from './hand-off.ts'
import { kSession, type Tagged } from './session.ts'
import { listenFd, serverOnFd } from './listen-fd.ts'

const SERVER_OPTS: net.ServerOpts = { allowHalfOpen: true, noDelay: true }

export interface ListenerCounters {
  accepted: number
  rejected: number // refused at maxconn (l4lb_listener_rejected_total adds noBackend)
  proxyErrors: number // PROXY header refused: untrusted source, malformed, truncated, timed out
  noBackend: number // sessions ended `no-backend`
}

export interface ListenerDeps {
  readonly clock: Clock
  readonly log: Logger
  readonly logConnections: () => boolean
  readonly reportPassive: (report: PassiveReport) => void
  /** This worker's share of `maxconn` (listener maxconn split across workers). */
  readonly maxconnShare: (maxconn: number) => number
  /** The native pump new sessions are handed to, or null (the JavaScript engine). */
  readonly pump: () => NativePump | null
}

/** The pump accepting on a listener's socket: its tag, the dup it holds; `back`: being handed back; `closing`: to be closed. */
interface NativeListen {
  readonly pump: NativePump
  readonly tag: number
  readonly fd: number
  back: boolean
  closing: boolean
}

export class Listener implements SessionHost, Sweepable, NativeAcceptHost {
  config: ListenerConfig
  pool: PoolRuntime
  timeouts: TimeoutsConfig
  readonly counters: ListenerCounters = { accepted: 0, rejected: 0, proxyErrors: 0, noBackend: 0 }
  active = 0
  private head: Session | null = null
  private server: net.Server | null = null
  /** Stage 3: the pump accepts on this listener's socket (server is then null). */
  private native: NativeListen | null = null
  private boundAddress: net.AddressInfo | null = null
  /** Bound by a reload not committed yet: accepted sockets wait here (see listen). */
  private held: net.Socket[] | null = null
  private trusted: (addr: string) => boolean = () => false
  private emfileLogged = -Infinity
  private maxActive = Infinity // this worker's share of maxconn
  private fdProbedAt = -Infinity

  private readonly deps: ListenerDeps

  constructor(config: ListenerConfig, pool: PoolRuntime, timeouts: TimeoutsConfig, deps: ListenerDeps) {
    this.deps = deps
    this.config = config
    this.pool = pool
    this.timeouts = timeouts
    this.update(config, pool, timeouts)
  }

  get clock(): Clock {
    return this.deps.clock
  }

  get pump(): NativePump | null {
    return this.deps.pump()
  }

  /** Apply a reloaded config for the same bind address. */
  update(config: ListenerConfig, pool: PoolRuntime, timeouts: TimeoutsConfig): void {
    this.config = config
    this.pool = pool
    if (timeouts !== this.timeouts) {
      for (let s = this.head; s !== null; s = s.next) s.native?.retime(s.nativeId, timeouts.idleMs, timeouts.halfClosedMs)
    }
    this.timeouts = timeouts
    this.trusted = compileCidrs(config.proxyProtocol.trusted)
    this.maxActive = this.deps.maxconnShare(config.maxconn) || Infinity
    this.syncEngine()
  }

  get listening(): boolean {
    return this.server?.listening === true || (this.native !== null && !this.native.closing)
  }

  address(): net.AddressInfo | null {
    if (this.server === null) return this.boundAddress
    const a = this.server.address()
    return a && typeof a === 'object' ? a : null
  }

  /** Stage 3: its clients may be accepted by the pump now (native-accept.ts canAcceptNatively). */
  get acceptsNatively(): boolean {
    return canAcceptNatively(this.pump, this.config, this.pool)
  }

  /**
   * Accept on the pump or on JavaScript, whichever the engine and config
   * say (not while holding a reload's clients, nor once stopped).
   */
  private syncEngine(): void {
    if (this.held !== null) return
    const want = this.acceptsNatively
    if (want && this.native === null && this.server?.listening === true) this.toNative(this.server)
    else if (!want && this.native !== null && !this.native.back && !this.native.closing) {
      this.native.back = true
      this.native.pump.unlisten(this.native.tag, this.native.fd, false)
    }
  }

  /**
   * Give the pump a dup of the listening socket and close Node's handle
   * (libuv drops it from its epoll set and closes its descriptor: the socket
   * lives on in the dup, clients queued in the kernel included).
   */
  private toNative(server: net.Server): void {
    const pump = this.pump!
    const fd = listenFd(server)
    if (fd === null) return
    const addr = this.address()
    const r = listenNatively(pump, this, fd)
    if (r === null) return
    this.boundAddress = addr
    this.native = { pump, tag: r.tag, fd: r.fd, back: false, closing: false }
    this.server = null
    server.close()
  }

  /** The pump let go of the socket: closed by it, to close, or back on JavaScript (a reload made it ineligible). */
  nativeUnlistened(errno: number): void {
    const n = this.native
    if (n === null) return
    this.native = null
    if (n.closing) {
      if (n.back || errno > 0) closeSync(n.fd) // the pump let go of it without closing it
      return
    }
    if (errno > 0) this.deps.log.warn({ listener: this.config.name, errno }, 'native accept could not take the listener: JavaScript accepts')
    // Listen on the same socket from Node again (in this process: a worker's own socket, not the primary's).
    this.server = serverOnFd(n.fd, SERVER_OPTS, (sock) => this.onConnection(sock), (err) => this.onServerError(err))
  }

  /** The pump's accept4 failed with `errno` (logged as JavaScript's accept errors are). */
  nativeAcceptError(errno: number): void {
    const code = Object.entries(constants.errno).find(([, v]) => v === errno)?.[0] ?? String(errno)
    this.onServerError(Object.assign(new Error(`accept failed (${code})`), { code }))
  }

  /** A client the pump accepted: counted and linked like one JavaScript accepted (see NativeAcceptHost). */
  nativeSession(addr: string, port: number, localAddr: string, localPort: number): Session | null {
    if (this.active >= this.maxActive) {
      this.counters.rejected++
      return null
    }
    this.counters.accepted++
    this.active++
    const closed = closedSocket()
    const s = new Session(this, closed, addr, port, localAddr, localPort)
    delete (closed as Tagged)[kSession]
    this.link(s)
    return s
  }

  /**
   * Bind and listen (SO_REUSEPORT). Rejects with a BindError naming this
   * listener and its address. `hold`: a reload's first phase; connections
   * accepted before `release()` wait unserved (at most maxconn share or 1024,
   * beyond that they are closed) so nothing is served by a config that may
   * still be rolled back.
   */
  listen(port = this.config.bind.port, hold = false): Promise<void> {
    this.held = hold ? [] : null
    const server = net.createServer(SERVER_OPTS, (sock) => this.onConnection(sock))
    this.server = server
    this.deps.clock.add(this)
    const { host } = this.config.bind
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.deps.clock.delete(this)
        reject(BindError.from(listenerLabel(this.config.name), host, port, err))
      }
      server.once('error', onError)
      server.listen({ host, port, reusePort: true, exclusive: true, backlog: 4096 }, () => {
        server.off('error', onError)
        server.on('error', (err: NodeJS.ErrnoException) => this.onServerError(err))
        this.syncEngine()
        resolve()
      })
    })
  }

  /** Serve the connections held since `listen(port, true)` and every later one (reload committed). */
  release(): void {
    const held = this.held
    this.held = null
    for (const sock of held ?? []) {
      sock.off('error', noop)
      if (!sock.destroyed) this.accept(sock)
    }
    this.syncEngine()
  }

  private onConnection(sock: net.Socket): void {
    if (this.held === null) return this.accept(sock)
    if (this.held.length >= Math.min(1024, this.deps.maxconnShare(this.config.maxconn) || 1024)) return void sock.resetAndDestroy() // a refusal is a reset (docs/errors.md)
    sock.on('error', noop)
    this.held.push(sock)
  }

  /**
   * Stop accepting; established sessions go on. Resolves at once: net.Server's
   * close callback would wait for every connection to end, which is what
   * draining must NOT wait for (the listening socket is closed immediately).
   */
  stopAccepting(): Promise<void> {
    const s = this.server
    if (s && s.listening) s.close()
    const n = this.native
    if (n !== null && !n.closing) {
      // The socket stops listening now (shutdown); the pump then closes it, or this does once handed back.
      n.closing = true
      n.pump.unlisten(n.tag, n.fd, true)
    }
    return Promise.resolve()
  }

  /** End every session now (shutdown deadline, hard-stop-after). */
  killAll(): void {
    for (let s = this.head; s !== null; s = s.next) s.kill('hard-stop')
  }

  /** End the sessions carried by backends `gone` says are gone (reload removed them). */
  killWhere(gone: (b: BackendRuntime) => boolean): number {
    let n = 0
    for (let s = this.head; s !== null; s = s.next) {
      if (s.backend !== null && gone(s.backend)) {
        s.kill('hard-stop')
        n++
      }
    }
    return n
  }

  close(): void {
    void this.stopAccepting()
    this.deps.clock.delete(this)
    for (const sock of this.held?.splice(0) ?? []) sock.resetAndDestroy() // a rolled-back reload's connections: refused, so reset
  }

  sweep(now: number): void {
    for (let s = this.head; s !== null; ) {
      const next = s.next // checkTimeouts may unlink s
      checkTimeouts(s, now)
      s = next
    }
    this.pool.slideAnswers(now) // observe http-connect: success rates follow their window
    if (now - this.fdProbedAt >= FD_PROBE_MS && this.listening) {
      this.fdProbedAt = now
      const err = probeDescriptors()
      if (err !== null) this.onServerError(err)
    }
  }

  reportPassive(report: PassiveReport): void {
    this.deps.reportPassive(report)
  }

  private accept(sock: net.Socket): void {
    // Past maxconn the client is reset, not closed with a FIN that would read
    // as an empty answer (net.Server's own maxConnections can only close).
    if (this.active >= this.maxActive) {
      this.counters.rejected++
      sock.on('error', noop)
      return void sock.resetAndDestroy()
    }
    this.counters.accepted++
    this.active++
    const pp = this.config.proxyProtocol
    // No PROXY header: the session starts now. The local address is left to the
    // session to ask for (getsockname) only if a backend wants a PROXY header.
    if (!pp.enabled) return this.startSession(sock, sock.remoteAddress!, sock.remotePort!, null, 0, null)
    sock.on('error', noop) // until the session installs its own handlers
    readProxyHeader(sock, { timeoutMs: pp.timeoutMs, trusted: this.trusted }, (r) => {
      if (!r.ok) {
        this.counters.proxyErrors++
        this.active--
        if (!sock.destroyed) sock.resetAndDestroy() // a refusal is a reset (docs/errors.md)
        this.deps.log.warn({ client: formatHostPort(sock.remoteAddress ?? '(unknown)', sock.remotePort ?? 0), listener: this.config.name, code: r.code, reason: r.reason }, 'PROXY header rejected')
        return
      }
      const h = r.header
      if (h.command === 'LOCAL' || h.srcAddress === null || h.dstAddress === null) {
        return this.startSession(sock, sock.remoteAddress!, sock.remotePort!, sock.localAddress!, sock.localPort!, r.rest)
      }
      this.startSession(sock, h.srcAddress, h.srcPort ?? 0, h.dstAddress, h.dstPort ?? 0, r.rest)
    })
  }

  /** `dst` null: the address the client connected to is the socket's own (looked up lazily). */
  private startSession(sock: net.Socket, src: string, srcPort: number, dst: string | null, dstPort: number, early: Buffer | null): void {
    sock.off('error', noop) // no-op (no listener) on the direct path
    const s = new Session(this, sock, src, srcPort, dst, dstPort)
    this.link(s)
    startSession(s, early)
  }

  private link(s: Session): void {
    s.next = this.head
    if (this.head !== null) this.head.prev = s
    this.head = s
  }

  sessionEnded(s: Session): void {
    sessionLeft(s)
    if (s.prev !== null) s.prev.next = s.next
    else this.head = s.next
    if (s.next !== null) s.next.prev = s.prev
    s.prev = s.next = null
    this.active--
    if (s.reason === 'no-backend') this.counters.noBackend++
    if (s.reason === 'no-backend' || this.deps.logConnections()) this.logSession(s)
  }

  /**
   * The connection's log line. With hash-key connect-authority it also says
   * what the flow was hashed on: `authority` (host:port of its CONNECT line),
   * or null when it fell back to the client address.
   */
  private logSession(s: Session): void {
    const b = s.backend
    this.deps.log.info(
      {
        client: formatHostPort(s.clientAddr, s.clientPort),
        listener: this.config.name,
        pool: this.pool.config.name,
        ...(this.pool.config.hashKey === 'connect-authority' ? { authority: s.authority } : null),
        backend: b === null ? null : b.id,
        tries: s.tried.length + (b === null ? 0 : 1),
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        durationMs: monoMs() - s.started,
        reason: s.reason,
        flags: TERMINATIONS[s.reason!].flag,
      },
      'connection closed',
    )
  }

  private onServerError(err: NodeJS.ErrnoException): void {
    // EMFILE/ENFILE while accepting: libuv keeps the listener; log at most once a second.
    const now = this.deps.clock.now
    if (now - this.emfileLogged >= 1000) {
      this.emfileLogged = now
      this.deps.log.error({ listener: this.config.name, code: err.code === 'EMFILE' || err.code === 'ENFILE' ? CODES.LB_ERR_EMFILE : CODES.LB_ERR_LISTEN, errno: err.code, err: err.message }, 'accept failed')
    }
  }
}

function noop(): void {}

// Lab backend (be1..be4): a forward proxy that names itself, and (as `origin`) the lab's origin server.
// Protocol, line based:
//   "WHO\n"                  -> {"be":"<name>","peer":"<ip>","port":<n>}\n   (peer = the l4lb node's address)
//   "PING <x>\n"             -> "PONG <x>\n"                                  (keeps a long-lived flow busy)
//   "CONNECT h:p HTTP/1.1"   -> a real CONNECT proxy (RFC 9110 §9.3.6): after the header block it
//   + headers + empty line      resolves h (Docker's DNS names the origin's site aliases), refuses an
//                               address outside --allow (the lab's networks) with 403, connects
//                               (502 on failure, 2 s deadline), answers "HTTP/1.1 200 Connection
//                               established" with X-Backend (this proxy) and X-Peer (the l4lb node)
//                               and splices both ways. While --fail-file exists every CONNECT gets
//                               "HTTP/1.1 503 Service Unavailable" (the port stays open; drill 18).
//                               Each CONNECT is logged to --tunnel-log as a JSON line
//                               {t (wall-clock ms), peer, target, status} for drills.
//   "PROBES\n"               -> {"<peer ip>":[<ms>,...],...}\n: when each peer's health probes came
//                               (a connection that closed without sending a byte: l4lb's tcp check),
//                               wall-clock ms, the last PROBE_KEEP per peer (drills count them)
// Anything else gets the WHO answer and is closed. One process, no dependencies.
// With --agent-port P it is also the backend's agent (HAProxy agent-check, issue 14): each
// connection to P gets one line, the content of --agent-file (default "up ready 100%" when
// the file is absent), then is closed. A drill writes "drain" there to drain this backend.
import net from 'node:net'
import dns from 'node:dns/promises'
import { readFileSync, existsSync, createWriteStream } from 'node:fs'
import { parseArgs } from 'node:util'
import { splitAuthority, allowed, parseCidrs } from './connect-target.ts'
import { wallMs } from './wallclock.ts'

const { values: a } = parseArgs({ options: {
  name: { type: 'string', default: 'be' }, port: { type: 'string', default: '3128' },
  'agent-port': { type: 'string' }, 'agent-file': { type: 'string', default: '/run/lab/agent-reply' },
  allow: { type: 'string', default: '198.18.0.0/15' }, // comma-separated CIDRs a CONNECT may reach
  'fail-file': { type: 'string', default: '/run/lab/connect-503' },
  'tunnel-log': { type: 'string', default: '/run/lab/tunnels.jsonl' },
} })
const name = a.name as string
const allow = parseCidrs(a.allow as string)
const failFile = a['fail-file'] as string
const tunnelLog = createWriteStream(a['tunnel-log'] as string, { flags: 'a' })

const PROBE_KEEP = 4000
const CONNECT_TIMEOUT_MS = 2000
const DNS_TTL_MS = 10_000 // a proxy caches names (Squid: positive_dns_ttl); keeps Docker's DNS off the hot path
const probes = new Map<string, number[]>()
const names = new Map<string, { addr: string; until: number }>()

/** The IPv4 address of `host` (a literal, or a name through the system resolver, cached DNS_TTL_MS); null when it does not resolve. */
async function resolve(host: string): Promise<string | null> {
  if (net.isIPv4(host)) return host
  const hit = names.get(host)
  if (hit && hit.until > Date.now()) return hit.addr
  try {
    const { address } = await dns.lookup(host, { family: 4 })
    names.set(host, { addr: address, until: Date.now() + DNS_TTL_MS })
    return address
  } catch { return null }
}

/**
 * Serves one CONNECT whose header block has been read; `rest` is what the client sent after it.
 * Answers 503 while the fail file exists, 400 for a bad authority, 403 outside the allowed
 * networks, 502 when the target does not answer; else 200 and the splice.
 */
async function tunnel(sock: net.Socket, peer: string, target: string, rest: Buffer): Promise<void> {
  const t = wallMs()
  const pending: Buffer[] = rest.length ? [rest] : []
  const hold = (d: Buffer) => { pending.push(d) }
  sock.on('data', hold)
  const head = (code: string) => `HTTP/1.1 ${code}\r\nX-Backend: ${name}\r\nX-Peer: ${peer}\r\n`
  const refuse = (status: number, code: string) => {
    tunnelLog.write(JSON.stringify({ t: Math.round(t * 1000) / 1000, peer, target, status }) + '\n')
    sock.end(head(code) + 'Content-Length: 0\r\nConnection: close\r\n\r\n')
  }
  if (existsSync(failFile)) return refuse(503, '503 Service Unavailable')
  const hp = splitAuthority(target)
  if (!hp) return refuse(400, '400 Bad Request')
  const addr = await resolve(hp.host)
  if (addr === null) return refuse(502, '502 Bad Gateway')
  if (!allowed(addr, allow)) return refuse(403, '403 Forbidden')
  const up = net.connect({ host: addr, port: hp.port })
  up.setNoDelay(true)
  const timer = setTimeout(() => up.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS)
  up.once('error', () => { clearTimeout(timer); if (!sock.destroyed) refuse(502, '502 Bad Gateway') })
  up.once('connect', () => {
    clearTimeout(timer)
    up.removeAllListeners('error')
    if (sock.destroyed) { up.destroy(); return }
    tunnelLog.write(JSON.stringify({ t: Math.round(t * 1000) / 1000, peer, target, status: 200, addr }) + '\n')
    sock.write(head('200 Connection established') + '\r\n')
    sock.off('data', hold)
    for (const d of pending) up.write(d)
    sock.pipe(up)
    up.pipe(sock)
    up.on('error', () => sock.destroy())
    sock.on('error', () => up.destroy())
    sock.on('close', () => up.destroy())
    up.on('close', () => sock.destroy())
  })
}

const server = net.createServer((sock) => {
  sock.setNoDelay(true)
  const peer = (sock.remoteAddress ?? '').replace(/^::ffff:/, '')
  const opened = wallMs()
  let spoke = false
  sock.on('close', () => {
    if (spoke) return
    const list = probes.get(peer) ?? []
    list.push(opened)
    if (list.length > PROBE_KEEP) list.splice(0, list.length - PROBE_KEEP)
    probes.set(peer, list)
  })
  const who = JSON.stringify({ be: name, peer, port: sock.remotePort })
  let buf = ''
  sock.on('error', () => sock.destroy())
  const onData = (d: Buffer) => {
    spoke = true
    buf += d.toString('latin1')
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '')
      if (line.startsWith('CONNECT ')) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return // the header block is not complete yet
        const target = line.split(' ')[1] ?? ''
        const rest = Buffer.from(buf.slice(end + 4), 'latin1')
        sock.off('data', onData)
        void tunnel(sock, peer, target, rest)
        return
      }
      buf = buf.slice(i + 1)
      if (line === 'WHO') sock.write(who + '\n')
      else if (line === 'PROBES') sock.end(JSON.stringify(Object.fromEntries(probes)) + '\n')
      else if (line.startsWith('PING ')) sock.write('PONG ' + line.slice(5) + '\n')
      else if (line !== '') { sock.end(who + '\n') }
    }
  }
  sock.on('data', onData)
})
// The bound port (a test passes --port 0).
server.listen(Number(a.port), '0.0.0.0', () => console.log(`${name} listening on ${(server.address() as net.AddressInfo).port}`))
process.on('SIGTERM', () => { server.close(); process.exit(0) })

if (a['agent-port'] !== undefined) {
  const file = a['agent-file'] as string
  const reply = (): string => {
    try { return readFileSync(file, 'utf8').split('\n')[0].trim() } catch { return 'up ready 100%' }
  }
  const agent = net.createServer((sock) => {
    sock.on('error', () => sock.destroy())
    sock.end(reply() + '\n')
  })
  agent.listen(Number(a['agent-port']), '0.0.0.0', () => console.log(`${name} agent listening on ${a['agent-port']}`))
}

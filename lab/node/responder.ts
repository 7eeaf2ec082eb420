// Lab backend (be1..be4): a tiny stand-in for a forward proxy that names itself.
// Protocol, line based:
//   "WHO\n"                  -> {"be":"<name>","peer":"<ip>","port":<n>}\n   (peer = the l4lb node's address)
//   "PING <x>\n"             -> "PONG <x>\n"                                  (keeps a long-lived flow busy)
//   "CONNECT h:p HTTP/1.1"   -> "HTTP/1.1 200 Connection established" with X-Backend and X-Peer
//                               headers, then echoes bytes (a CONNECT proxy that tunnels to itself)
//   "PROBES\n"               -> {"<peer ip>":[<ms>,...],...}\n: when each peer's health probes came
//                               (a connection that closed without sending a byte: l4lb's tcp check),
//                               wall-clock ms, the last PROBE_KEEP per peer (drills count them)
// Anything else gets the WHO answer and is closed. One process, no dependencies.
// With --agent-port P it is also the backend's agent (HAProxy agent-check, issue 14): each
// connection to P gets one line, the content of --agent-file (default "up ready 100%" when
// the file is absent), then is closed. A drill writes "drain" there to drain this backend.
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const { values: a } = parseArgs({ options: {
  name: { type: 'string', default: 'be' }, port: { type: 'string', default: '3128' },
  'agent-port': { type: 'string' }, 'agent-file': { type: 'string', default: '/run/lab/agent-reply' },
} })
const name = a.name as string

const PROBE_KEEP = 4000
const probes = new Map<string, number[]>()
const wallMs = (): number => performance.timeOrigin + performance.now()

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
  let tunnel = false
  sock.on('error', () => sock.destroy())
  sock.on('data', (d) => {
    spoke = true
    if (tunnel) { sock.write(d); return }
    buf += d.toString('latin1')
    let i: number
    while (!tunnel && (i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '')
      buf = buf.slice(i + 1)
      if (line === 'WHO') sock.write(who + '\n')
      else if (line === 'PROBES') sock.end(JSON.stringify(Object.fromEntries(probes)) + '\n')
      else if (line.startsWith('PING ')) sock.write('PONG ' + line.slice(5) + '\n')
      else if (line.startsWith('CONNECT ')) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0 && !buf.startsWith('\r\n')) { buf = line + '\n' + buf; return }
        buf = buf.startsWith('\r\n') ? buf.slice(2) : buf.slice(end + 4)
        tunnel = true
        sock.write(`HTTP/1.1 200 Connection established\r\nX-Backend: ${name}\r\nX-Peer: ${peer}\r\n\r\n`)
        if (buf) sock.write(buf)
      } else if (line !== '') { sock.end(who + '\n') }
    }
  })
})
server.listen(Number(a.port), '0.0.0.0', () => console.log(`${name} listening on ${a.port}`))
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

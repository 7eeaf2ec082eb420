// A demo backend that says who it is: an HTTP request gets "served by NAME"
// back; any other line gets "NAME: <line>" (try it with nc).
import net from 'node:net'
import { formatHostPort } from '../net/ip.ts'

export interface DemoBackend {
  readonly name: string
  readonly port: number
  close(): Promise<void>
}

export async function startDemoBackend(name: string, port = 0): Promise<DemoBackend> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    let first = true
    sock.on('data', (chunk) => {
      const text = chunk.toString('latin1')
      if (first && /^[A-Z]+ \S+ HTTP\/1\.[01]\r?\n/.test(text)) {
        const body = `served by ${name} (you are ${formatHostPort(sock.remoteAddress ?? '?', sock.remotePort ?? 0)} as the balancer connects)\n`
        sock.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
        return
      }
      first = false
      for (const line of text.split('\n')) if (line.trim()) sock.write(`${name}: ${line.trim()}\n`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    name,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

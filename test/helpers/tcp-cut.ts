// A TCP forwarder on 127.0.0.1 that a test can cut: every connection through
// it is reset and new ones are refused (a partition between one process and
// a server it talks to), then restored on the same port.
import net from 'node:net'

export interface TcpCut {
  readonly port: number
  /** Reset every open connection and refuse new ones. */
  cut(): Promise<void>
  /** Accept and forward again, on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** Forward 127.0.0.1:<free port> to 127.0.0.1:`targetPort`. */
export async function tcpCut(targetPort: number): Promise<TcpCut> {
  const open = new Set<net.Socket>()
  const handle = (client: net.Socket): void => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort })
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }
  let server = net.createServer(handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const stop = async (): Promise<void> => {
    const closed = new Promise<void>((r) => server.close(() => r()))
    for (const s of open) s.resetAndDestroy()
    await closed
  }
  return {
    port,
    cut: stop,
    restore: async () => {
      server = net.createServer(handle)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => resolve())
      })
    },
    close: async () => {
      if (server.listening) await stop()
    },
  }
}

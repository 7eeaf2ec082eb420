// A listening socket moving between Node and the native pump (stage 3). Node
// has no public way to give up a listening descriptor or to listen on one in
// a cluster worker without asking the primary, so the two Node internals this
// needs are kept here: the server's handle descriptor, and a TCP handle opened
// on a descriptor (a net.Socket made with `manualStart` wraps one) passed to
// server.listen(handle), which listens exclusively, in this process.
import net from 'node:net'

type WithHandle = { _handle?: { fd?: number } | null }

/** The descriptor of `server`'s listening socket, or null (not listening, or not a TCP handle). */
export function listenFd(server: net.Server): number | null {
  const fd = (server as net.Server & WithHandle)._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : null
}

/**
 * A server accepting on `fd`, an already bound and listening socket (its
 * queued clients included) that no libuv handle holds. Throws when `fd` is
 * not a TCP socket.
 */
export function serverOnFd(fd: number, opts: net.ServerOpts, onConnection: (sock: net.Socket) => void, onError: (err: NodeJS.ErrnoException) => void): net.Server {
  const holder = new net.Socket({ fd, manualStart: true } as net.SocketConstructorOpts) as net.Socket & { _handle: unknown }
  const handle = holder._handle
  holder._handle = null // the server owns it now
  const server = net.createServer(opts, onConnection)
  server.on('error', onError)
  server.listen(handle as net.ListenOptions)
  return server
}

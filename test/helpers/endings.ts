// What a peer saw at the end of a connection: a clean end of stream (FIN,
// read as EOF) or a reset (ECONNRESET), and the bytes before it. Used to
// check the endings table of docs/errors.md on real sockets.
import net from 'node:net'

export interface PeerEnd {
  readonly data: Buffer
  readonly fin: boolean // EOF arrived (the other side sent FIN)
  readonly error: string | null // first error code (ECONNRESET, EPIPE...)
}

/**
 * Read `sock` until it closes. `answerFin` ends our side when the FIN
 * arrives (a polite client); without it the socket stays half-open, so a
 * later reset is still seen. Resolves, never rejects.
 */
export function ending(sock: net.Socket, answerFin = true): Promise<PeerEnd> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    let fin = false
    let error: string | null = null
    sock.on('data', (d: Buffer) => parts.push(d))
    sock.on('end', () => {
      fin = true
      if (answerFin) sock.end()
    })
    sock.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message))
    sock.on('close', () => resolve({ data: Buffer.concat(parts), fin, error }))
  })
}

/** "reset" when the peer saw ECONNRESET, "eof" for a clean FIN, else the error code or "open". */
export function seen(e: { fin: boolean; error: string | null }): string {
  if (e.error === 'ECONNRESET') return 'reset'
  if (e.error !== null) return e.error
  return e.fin ? 'eof' : 'open'
}

// A blackhole backend on loopback: a python3 process holds a listening socket
// with backlog 0 and never accepts. Once its accept queue is full (filled here
// by connections that stay queued), the kernel drops further SYNs, so a
// connect never completes: the balancer's connect timeout has to fire.
// Stopped by PID (and by stdin closing, should this process die first).
import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'

const SCRIPT = `
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()  # until the parent closes stdin or dies
`

export interface Blackhole {
  readonly port: number
  readonly fillers: number
  close(): Promise<void>
}

/** Start it and fill its queue; resolves when a connect attempt no longer completes. */
export async function startBlackhole(): Promise<Blackhole> {
  const child: ChildProcess = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('python3 blackhole did not start')), 10_000)
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('\n')) {
        clearTimeout(timer)
        resolve(Number(out.trim()))
      }
    })
    child.once('error', reject)
  })
  const fillers: net.Socket[] = []
  const close = async (): Promise<void> => {
    for (const s of fillers) s.destroy()
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  // Queue connections until one hangs in SYN-SENT (bounded: the queue holds a handful at most).
  for (let i = 0; i < 16; i++) {
    const s = net.connect({ host: '127.0.0.1', port })
    s.on('error', () => {})
    fillers.push(s)
    const connected = await new Promise<boolean>((r) => {
      const timer = setTimeout(() => r(false), 300)
      s.once('connect', () => {
        clearTimeout(timer)
        r(true)
      })
    })
    if (!connected) return { port, fillers: fillers.length, close }
  }
  await close()
  throw new Error('could not fill the blackhole queue')
}

// A child process for measure 4: opens COUNT idle TCP connections to 127.0.0.1:PORT
// (at most 256 connecting at once), prints one JSON line {"opened","failed"}, holds
// them until a line arrives on stdin (or stdin closes), then closes them all and exits.
// Bounded: it exits by itself after LIFETIME seconds whatever happens.
// Usage: node bench/proxy/idle-client.ts PORT COUNT [LIFETIME_SECONDS]
import net from 'node:net'

const port = Number(process.argv[2])
const count = Number(process.argv[3])
const lifetimeSec = Number(process.argv[4] ?? 300)
if (!Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: idle-client.ts PORT COUNT [LIFETIME_SECONDS]\n')
  process.exit(2)
}

setTimeout(() => process.exit(3), lifetimeSec * 1000).unref()

const sockets: net.Socket[] = []
let opened = 0
let failed = 0
let started = 0
let inFlight = 0
const CONCURRENCY = 256

function openOne(done: () => void): void {
  started++
  inFlight++
  const s = net.connect({ port, host: '127.0.0.1' })
  let settled = false
  const settle = (ok: boolean): void => {
    if (settled) return
    settled = true
    inFlight--
    if (ok) opened++
    else failed++
    done()
  }
  s.once('connect', () => {
    sockets.push(s)
    settle(true)
  })
  s.on('error', () => settle(false))
  s.on('close', () => settle(false))
}

function pump(): void {
  while (inFlight < CONCURRENCY && started < count) openOne(pump)
  if (inFlight === 0 && started === count) {
    process.stdout.write(JSON.stringify({ opened, failed }) + '\n')
    waitForClose()
  }
}

function closeAll(): void {
  for (const s of sockets) s.destroy()
  process.exit(0)
}

function waitForClose(): void {
  process.stdin.once('data', closeAll)
  process.stdin.once('end', closeAll)
}

pump()

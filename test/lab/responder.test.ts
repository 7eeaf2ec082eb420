// The lab's CONNECT proxy (lab/node/responder.ts) as drills 18-19 rely on it: a tunnel really
// reaches the target (the origin names itself and the proxy's address), a target outside the
// allowed networks is refused with 403 before any connect, the fail file makes every CONNECT a
// 503 while the port stays open, each CONNECT is logged, and the old line protocol still works.
import t from 'tap'
import net from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dir = mkdtempSync(join(tmpdir(), 'l4lb-responder-'))
const procs: ChildProcess[] = []
t.teardown(() => { for (const p of procs) p.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) })

/** Starts responder.ts on 127.0.0.1 port 0; resolves with the port it printed (10 s deadline). */
function start(args: string[]): Promise<number> {
  const p = spawn(process.execPath, ['lab/node/responder.ts', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  procs.push(p)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('responder did not start')), 10_000)
    let out = ''
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = / listening on (\d+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
  })
}

/** Sends `text` to 127.0.0.1:port and collects what comes back until `done(answer)` or close (5 s deadline). */
function ask(port: number, text: string, done: (s: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text))
    let b = ''
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer: ${JSON.stringify(b)}`)) }, 5000)
    const end = () => { clearTimeout(timer); s.destroy(); resolve(b) }
    s.on('data', (d) => { b += d.toString('latin1'); if (done(b)) end() })
    s.on('close', end)
    s.on('error', () => undefined)
  })
}

const originPort = await start(['--name', 'origin', '--tunnel-log', join(dir, 'o.jsonl')])
const failFile = join(dir, 'fail')
const log = join(dir, 'p.jsonl')
const proxyPort = await start(['--name', 'be9', '--allow', '127.0.0.0/8', '--fail-file', failFile, '--tunnel-log', log])
const connect = (target: string) => ask(proxyPort, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\nWHO\n`, (b) => /\r\n\r\n.*\n/s.test(b))

t.test('a CONNECT tunnel reaches the origin through the proxy', async (t) => {
  const b = await connect(`127.0.0.1:${originPort}`)
  t.match(b, /^HTTP\/1\.1 200 Connection established\r\n/)
  t.match(b, /\r\nX-Backend: be9\r\n/)
  const who = JSON.parse(b.split('\r\n\r\n')[1]) as { be: string; peer: string }
  t.equal(who.be, 'origin', 'the bytes after the head come from the origin')
  t.equal(who.peer, '127.0.0.1')
})

t.test('a name resolves; a target outside the allowed networks is refused with 403', async (t) => {
  t.match(await connect(`localhost:${originPort}`), /^HTTP\/1\.1 200 /)
  t.match(await connect('10.0.0.1:80'), /^HTTP\/1\.1 403 Forbidden\r\n/)
  t.match(await connect('not-a-target'), /^HTTP\/1\.1 400 /)
})

t.test('the fail file: 503 to every CONNECT, the port stays open, the line protocol still works', async (t) => {
  writeFileSync(failFile, '')
  t.match(await connect(`127.0.0.1:${originPort}`), /^HTTP\/1\.1 503 Service Unavailable\r\n/)
  t.match(await ask(proxyPort, 'WHO\nPING 7\n', (b) => b.includes('PONG 7')), /^\{"be":"be9","peer":"127\.0\.0\.1".*\nPONG 7\n$/s)
  rmSync(failFile)
  t.match(await connect(`127.0.0.1:${originPort}`), /^HTTP\/1\.1 200 /)
})

t.test('every CONNECT is in the tunnel log with its status', async (t) => {
  // The log is a write stream: poll briefly (bounded) for the last line.
  let lines: { target: string; status: number }[] = []
  for (let i = 0; i < 50 && lines.length < 6; i++) {
    lines = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { target: string; status: number })
    await new Promise((r) => setTimeout(r, 20))
  }
  t.same(lines.map((l) => l.status), [200, 200, 403, 400, 503, 200])
})

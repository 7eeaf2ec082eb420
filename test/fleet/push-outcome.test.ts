// `l4lb fleet push` says what happened to its write: a conflict names the
// key's real revision (or that it is absent), a push of the text already
// stored is not a conflict, and a write that reached etcd but whose answer
// never came back is "outcome unknown" (exit 4), never "store unreachable,
// nothing written" (exit 1): the push writes once, so the error it reports
// is its write's own. A TCP forwarder between the CLI and a real etcd loses
// the answer to the one large request (the write) and then resets.
import net from 'node:net'
import t from 'tap'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { push, sharedYaml } from '../helpers/fleet.ts'
import { l4lbCli } from '../helpers/fleet.ts'
import type { FixtureBackend } from '../fixtures/backend.ts'
import { startBackend } from '../fixtures/backend.ts'

t.setTimeout(60_000)

let etcd: TestEtcd
const backends: FixtureBackend[] = []
t.before(async () => {
  etcd = await startEtcd()
  backends.push(await startBackend('b1'))
})
t.teardown(async () => {
  for (const b of backends) await b.close()
  await etcd?.destroy()
})

/** A shared config of about `bytes` bytes (YAML comments pad it), unique by `mark`. */
const big = (mark: string, bytes: number) => `${sharedYaml(backends)}\n# ${mark}\n${'# padding\n'.repeat(Math.ceil(bytes / 10))}`

t.test('conflict: names the real revision, or that the key is absent; the same text again is already stored', async (t) => {
  const absent = await push(etcd, sharedYaml(backends), '/p1', ['--expect-revision', '5'])
  t.equal(absent.code, 3)
  t.match(absent.stderr, 'conflict: /p1/config is absent, not 5 (not the revision --expect-revision names); read it again and retry')
  const first = await push(etcd, sharedYaml(backends), '/p1')
  t.equal(first.code, 0, first.stderr)
  const rev = Number((await etcd.client().get('/p1/config').exec()).kvs[0].mod_revision)
  const again = await push(etcd, sharedYaml(backends), '/p1', ['--expect-revision', '0'])
  t.equal(again.code, 0, 'the text already stored: not a conflict')
  t.match(again.stdout, `/p1/config: already stored at revision ${rev} (the same text; an earlier push of it landed), nothing written`)
  const other = await push(etcd, big('other', 100), '/p1', ['--expect-revision', '0'])
  t.equal(other.code, 3)
  t.match(other.stderr, `conflict: /p1/config is at revision ${rev}, not absent (not the revision --expect-revision names)`)
  t.equal(Number((await etcd.client().get('/p1/config').exec()).kvs[0].mod_revision), rev, 'nothing written')
})

t.test('the write reached etcd, its answer was lost: exit 4 "outcome unknown", and the value is there', async (t) => {
  const port = Number(new URL(etcd.endpoint).port)
  // Bytes: only the write carries this much. The whole write (40 KB) stays within HTTP/2's first
  // 64 KB window, so it reaches etcd though no answer (nor window update) comes back.
  const WRITE = 30_000
  const sockets = new Set<net.Socket>()
  const fwd = net.createServer((c) => {
    const s = net.connect(port, '127.0.0.1')
    sockets.add(c).add(s)
    let up = 0
    let lost = false
    c.on('data', (d) => {
      up += d.length
      s.write(d)
      if (up > WRITE && !lost) {
        lost = true // etcd gets the write; its answer is dropped, then the connection is reset and nothing listens
        setTimeout(() => {
          for (const x of sockets) x.resetAndDestroy()
          fwd.close()
        }, 300)
      }
    })
    s.on('data', (d) => { if (!lost) c.write(d) })
    c.on('error', () => s.destroy())
    s.on('error', () => c.destroy())
  })
  await new Promise<void>((r) => fwd.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    for (const x of sockets) x.destroy()
    fwd.close()
  })
  const fport = (fwd.address() as net.AddressInfo).port
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-push-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'shared.yaml')
  const text = big('late', 40_000)
  writeFileSync(file, text)
  const r = await l4lbCli(['fleet', 'push', '-c', file, '--endpoints', `http://127.0.0.1:${fport}`, '--prefix', '/p2'])
  t.equal(r.code, 4, `exit 4, not 1 (stderr: ${r.stderr.trim()})`)
  t.match(r.stderr, /\/p2\/config: outcome unknown \(.*\): the store did not confirm the write; etcd may still commit it/)
  t.match(r.stderr, 'push again with --expect-revision 0')
  t.notMatch(r.stderr, /store unreachable|nothing written/)
  const stored = await etcd.client().get('/p2/config').string()
  t.equal(stored, text, 'and here it did land')
  const again = await push(etcd, text, '/p2', ['--expect-revision', '0'])
  t.equal(again.code, 0, 'pushing it again as the message says: already stored')
  t.match(again.stdout, 'already stored')
})

t.test('a reader that stops early: the report ends quietly, exit 0 (no EPIPE trace)', async (t) => {
  const { spawn } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
  const child = spawn(process.execPath, [main, 'fleet', 'status', '--endpoints', etcd.endpoint, '--prefix', '/p1'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.destroy() // `| head -0`: nobody reads
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)))
  t.equal(code, 0, stderr)
  t.notMatch(stderr, /EPIPE|Error/)
})

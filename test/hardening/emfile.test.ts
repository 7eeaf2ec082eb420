// File-descriptor exhaustion: a balancer in a child process under
// `ulimit -n 64` is filled with held connections until it runs out of
// descriptors. It keeps running, logs LB_ERR_EMFILE ('accept failed'), and
// serves again once connections are closed.
import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { startBackend } from '../fixtures/backend.ts'

import { holdServed } from './helpers.ts'
import { until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'

const CHILD = fileURLToPath(new URL('./emfile-child.ts', import.meta.url))
const LIMIT = 64


forEachEngine((t) => {
  t.test(`EMFILE under ulimit -n ${LIMIT}: keeps running, logs it, recovers`, async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const child: ChildProcess = spawn('bash', ['-c', `ulimit -n ${LIMIT} && exec "${process.execPath}" "${CHILD}" ${be.port}`], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    child.stderr!.on('data', (d) => (out += d))
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    const held: net.Socket[] = []
    t.teardown(async () => {
      for (const s of held) s.destroy()
      child.stdin!.end()
      const k = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(k)
    })
    await until('the child prints its port', () => out.includes('\n'), { deadlineMs: 10_000 })
    const port = (JSON.parse(out.split('\n')[0]) as { port: number }).port
    const lines = (): Record<string, unknown>[] => out.split('\n').slice(1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)

    // Fill: each served connection costs the child two descriptors (client and backend).
    let failures = 0
    for (let i = 0; i < 200 && failures < 5; i++) {
      const s = await holdServed(port, 3000)
      if (s === null) failures++
      else held.push(s)
    }
    t.equal(failures, 5, `ran out after ${held.length} held connections`)
    // Each held connection costs two descriptors (client and backend side) out of LIMIT, less the
    // ~20 the process itself holds (stdio, listener, event loop, IPC): about (LIMIT - 20) / 2.
    t.ok(held.length >= 10 && held.length <= LIMIT / 2, `bounded by the descriptor limit: ${held.length} held, at most ${LIMIT / 2}`)
    // Exhaustion lasts while the connections are held; the listener notices within its probe interval.
    const logged = (): boolean => lines().some((l) => l.msg === 'accept failed' && l.code === 'LB_ERR_EMFILE')
    await until('LB_ERR_EMFILE "accept failed" logged', logged, { deadlineMs: 5000 })
    t.equal(await holdServed(port, 3000), null, 'still no room while the connections are held')
    t.equal(child.exitCode, null, 'the balancer is still running')
    t.notOk(/uncaught|Error:.*\n\s+at /i.test(out), 'no crash or stack trace in its output')

    for (const s of held.splice(0)) s.destroy()
    const again = await until('serves again once descriptors are free', () => holdServed(port, 3000), { deadlineMs: 5000 })
    again.destroy()
    t.equal(child.exitCode, null, 'and never stopped')
    const emfileLines = lines().filter((l) => l.code === 'LB_ERR_EMFILE').length
    t.ok(emfileLines <= 10, `logged at most once a second (${emfileLines} lines)`)
  })
}, { inProcess: false })

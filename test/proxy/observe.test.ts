// `observe: http-connect` in one process, both engines: what each tunnel
// reports to passive health (the events the primary folds into ejection,
// test/cluster/observe.test.ts), that the tunnel keeps carrying bytes both
// ways after its status line was seen (the native pass checks the pump took
// the sessions: observing hands off after the line), and that a proxy that
// never answers is a timeout failure.
import net from 'node:net'
import type { Test } from 'tap'
import type { PassiveReport } from '../../src/health/types.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { type FixtureBackend, startBackend } from '../fixtures/backend.ts'
import { forEachEngine } from '../helpers/engines.ts'
import { buildConfig, type ConfigOver } from '../helpers/config.ts'
import { silent } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

const REQ = 'CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n'

async function setup(t: Test, be: FixtureBackend, over: ConfigOver = {}): Promise<{ port: number; reports: PassiveReport[] }> {
  t.teardown(() => be.close())
  const reports: PassiveReport[] = []
  const cfg = buildConfig([be], { ...over, pool: { observe: 'http-connect', ...over.pool } })
  const lb = new Engine(cfg, { log: silent, reportPassive: (r) => reports.push(r) })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  return { port: lb.listener('test')!.address()!.port, reports }
}

function open(t: Test, port: number): { sock: net.Socket; got: () => string } {
  const sock = net.connect({ port, host: '127.0.0.1' })
  let got = ''
  sock.setEncoding('latin1')
  sock.on('data', (d: string) => (got += d))
  sock.on('error', () => {})
  t.teardown(() => sock.destroy())
  return { sock, got: () => got }
}

forEachEngine((t) => {
  t.test('200: no failure reported, and the tunnel carries bytes both ways after the status line', async (t) => {
    const { port, reports } = await setup(t, await startBackend('ok', 'connect'))
    for (let i = 0; i < 3; i++) {
      const c = open(t, port)
      c.sock.write(REQ)
      await until('the tunnel', () => c.got().endsWith('\r\n\r\nok\n'))
      await holdFor(20) // the hand-off comes a turn after the line
      c.sock.write(`ping ${i}\n`)
      await until('the echo through the tunnel', () => c.got().endsWith(`ok\nping ${i}\n`))
      c.sock.destroy()
    }
    t.same(reports, [], 'successes end no failure run: nothing to report')
  })

  t.test('503 to every CONNECT: each tunnel is one failure', async (t) => {
    const be = await startBackend('bad', 'connect')
    be.connectStatus = 503
    const { port, reports } = await setup(t, be)
    for (let i = 0; i < 3; i++) {
      const c = open(t, port)
      c.sock.write(REQ)
      await until('the 503', () => c.got().startsWith('HTTP/1.1 503 '))
    }
    await until('three reports', () => reports.length >= 3)
    t.same(reports.map((r) => r.outcome), ['error', 'error', 'error'])
  })

  t.test('407 counts only with observe-407', async (t) => {
    for (const count of [false, true]) {
      const be = await startBackend('auth', 'connect')
      be.connectStatus = 407
      const { port, reports } = await setup(t, be, { pool: { 'observe-407': count } })
      const c = open(t, port)
      c.sock.write(REQ)
      await until('the 407', () => c.got().startsWith('HTTP/1.1 407 '))
      await holdFor(100)
      t.same(reports.map((r) => r.outcome), count ? ['error'] : [], `observe-407: ${count}`)
    }
  })

  t.test('a proxy that never answers: a timeout failure timeouts.connect after the client\'s first byte, not before it', async (t) => {
    const { port, reports } = await setup(t, await startBackend('hung', 'stall'), { top: { timeouts: { connect: '300ms' } } })
    const c = open(t, port)
    await new Promise((r) => c.sock.once('connect', r))
    await holdFor(600) // connected, the client silent: not the proxy's fault
    t.same(reports, [], 'nothing while the client has sent nothing')
    c.sock.write(REQ)
    const sent = Date.now()
    await until('the timeout report', () => reports.length === 1)
    t.equal(reports[0]!.outcome, 'timeout')
    t.ok(Date.now() - sent >= 290, `reported ${Date.now() - sent} ms after the request (timeouts.connect 300 ms)`)
  })
})

// One agent poll on real sockets (src/health/probes/agent.ts): a line is
// taken; every bad answer ends with a reason within the timeout, holding at
// most ~1 KiB whatever the agent sends.
import t from 'tap'
import { askAgent, type AgentTarget } from '../../src/health/probes/agent.ts'
import { startAgent } from '../fixtures/agent.ts'
import { refusedPort } from '../fixtures/backend.ts'

const target = (port: number, over: Partial<AgentTarget> = {}): AgentTarget => ({ host: '127.0.0.1', port, send: null, timeoutMs: 500, ...over })

t.test('a line is taken; agent-send is written first', async (t) => {
  const agent = await startAgent('drain 50%')
  t.teardown(() => agent.close())
  const a = await askAgent(target(agent.port, { send: 'status\n' }))
  t.same(a.ok && a.line, 'drain 50%')
  t.equal(agent.received[0], 'status\n', 'the agent got agent-send')
})

t.test('a reply split into one byte per packet is still one line', async (t) => {
  const agent = await startAgent('up 75%', 'dribble')
  agent.delayMs = 5
  t.teardown(() => agent.close())
  const a = await askAgent(target(agent.port, { timeoutMs: 2000 }))
  t.same(a.ok && a.line, 'up 75%')
})

t.test('bad answers: a reason each, within the timeout', async (t) => {
  const cases: [string, (a: Awaited<ReturnType<typeof startAgent>>) => void, RegExp][] = [
    ['no line end, then close', (a) => { a.mode = 'nolf'; a.line = 'drain' }, /^closed before a line end \(5 bytes\)$/],
    ['close without a byte', (a) => { a.mode = 'close' }, /^closed before a line end \(0 bytes\)$/],
    ['never answers', (a) => { a.mode = 'silent' }, /^timeout after 300ms \(0 bytes, no line end\)$/],
    ['answers too late', (a) => { a.mode = 'slow'; a.delayMs = 1000 }, /^timeout after 300ms/],
    ['64 MiB without a line end', (a) => { a.mode = 'huge'; a.hugeBytes = 64 * 1024 * 1024 }, /^line longer than 1024 bytes$/],
  ]
  for (const [name, set, reason] of cases) {
    const agent = await startAgent('up')
    set(agent)
    const started = Date.now()
    const a = await askAgent(target(agent.port, { timeoutMs: 300 }))
    const took = Date.now() - started
    await agent.close()
    t.notOk(a.ok, `${name}: not taken`)
    t.match(!a.ok && a.reason, reason, `${name}: ${!a.ok && a.reason}`)
    t.ok(took < 1000, `${name}: ended in ${took} ms`)
    // The kernel's loopback buffers take a few MiB; a poller that read on would take all 64.
    if (name.startsWith('64 MiB')) t.ok(agent.hugeWritten < 16 * 1024 * 1024, `stopped reading early: the agent could write only ${agent.hugeWritten} bytes`)
  }
})

t.test('an agent that does not listen: connect error', async (t) => {
  const a = await askAgent(target(await refusedPort()))
  t.match(!a.ok && a.reason, /^connect ECONNREFUSED$/)
})

t.test('abort ends a poll at once', async (t) => {
  const agent = await startAgent('up', 'silent')
  t.teardown(() => agent.close())
  const ac = new AbortController()
  const p = askAgent(target(agent.port, { timeoutMs: 5000 }), ac.signal)
  setTimeout(() => ac.abort(), 20)
  const a = await p
  t.match(!a.ok && a.reason, 'aborted')
  t.ok(a.durationMs < 1000)
})

// The agent reply parser and weight rule (src/health/agent-line.ts), table
// driven against HAProxy's agent-check rules (doc/configuration.txt 5.2).
import t from 'tap'
import { agentWeight, isEmptyReply, MAX_AGENT_LINE, parseAgentLine, splitAgentLine } from '../../src/health/agent-line.ts'

t.test('words, combinations and precedence', async (t) => {
  const cases: [string, { health?: string | null; admin?: string | null; percent?: number | null; maxconn?: number | null; description?: string; problems?: number }][] = [
    ['up', { health: 'up', admin: null, percent: null }],
    ['down', { health: 'down' }],
    ['fail', { health: 'down' }],
    ['stopped', { health: 'down' }],
    ['ready', { admin: 'ready', health: null }],
    ['drain', { admin: 'drain' }],
    ['maint', { admin: 'maint' }],
    ['75%', { percent: 75, health: null, admin: null }],
    ['0%', { percent: 0 }],
    ['250%', { percent: 250 }],
    ['up 50%', { health: 'up', percent: 50 }],
    ['drain,80%', { admin: 'drain', percent: 80 }],
    ['75%,maxconn:30,maint,down', { percent: 75, maxconn: 30, admin: 'maint', health: 'down' }], // HAProxy's own regtest line
    ['UP\tREADY  10%', { health: 'up', admin: 'ready', percent: 10 }],
    ['down up', { health: 'up' }], // the last word of a kind wins
    ['drain ready', { admin: 'ready' }],
    ['10% 20%', { percent: 20 }],
    ['down # disk full', { health: 'down', description: 'disk full' }],
    ['#only a comment', { health: null, admin: null, percent: null, description: 'only a comment' }],
    ['up hello', { health: 'up', problems: 1 }], // unknown words are skipped, the rest applies
    ['75abc%', { percent: null, problems: 1 }],
    ['99999%', { percent: null, problems: 1 }],
    ['maxconn:x', { maxconn: null, problems: 1 }],
    ['-5%', { percent: null, problems: 1 }],
    ['', { health: null, problems: 0 }],
  ]
  for (const [line, want] of cases) {
    const r = parseAgentLine(line)
    for (const [k, v] of Object.entries(want)) {
      if (k === 'problems') t.equal(r.problems.length, v, `${JSON.stringify(line)}: ${v} problem(s) (${r.problems.join('; ')})`)
      else t.equal(r[k as keyof typeof r], v, `${JSON.stringify(line)}: ${k}`)
    }
  }
})

t.test('garbage changes nothing', async (t) => {
  for (const line of ['hello', 'HTTP/1.1 200 OK', '\u0000\u0001\u0002', 'upp', '%', 'ready?', ' , \t ']) {
    const r = parseAgentLine(line)
    t.ok(isEmptyReply(r), `${JSON.stringify(line)} is empty`)
  }
  t.notOk(isEmptyReply(parseAgentLine('maxconn:5')), 'maxconn alone is a known word (reported, not applied)')
  t.match(parseAgentLine('hello').problems[0], /"hello": unknown word/)
})

t.test('a long description or word is bounded in what it keeps', async (t) => {
  const r = parseAgentLine(`up # ${'d'.repeat(5000)}`)
  t.equal(r.health, 'up')
  t.ok(r.description.length <= MAX_AGENT_LINE)
  t.ok(parseAgentLine('z'.repeat(900)).problems[0].length < 80, 'a problem quotes at most 40 chars of a word')
})

t.test('splitAgentLine: CR or LF ends the line; bounded look-ahead', async (t) => {
  t.same(splitAgentLine(Buffer.from('up\n')), { kind: 'line', line: 'up' })
  t.same(splitAgentLine(Buffer.from('drain 50%\r\n')), { kind: 'line', line: 'drain 50%' })
  t.same(splitAgentLine(Buffer.from('down\rrest')), { kind: 'line', line: 'down' })
  t.same(splitAgentLine(Buffer.from('\nup')), { kind: 'line', line: '' })
  t.same(splitAgentLine(Buffer.from('up')), { kind: 'more' })
  t.same(splitAgentLine(Buffer.alloc(MAX_AGENT_LINE, 'x')), { kind: 'more' })
  t.same(splitAgentLine(Buffer.alloc(MAX_AGENT_LINE + 1, 'x')), { kind: 'too-long' })
  t.same(splitAgentLine(Buffer.concat([Buffer.alloc(MAX_AGENT_LINE + 1, 'x'), Buffer.from('\n')])), { kind: 'too-long' }, 'a line end past the bound is not looked for')
})

t.test('agentWeight: percentage of the configured weight, capped, never rounded to 0', async (t) => {
  t.equal(agentWeight(100, null), 100, 'no percentage: unchanged')
  t.equal(agentWeight(100, 75), 75)
  t.equal(agentWeight(100, 0), 0, '0% drains')
  t.equal(agentWeight(1, 75), 1, 'a non-zero share of weight 1 stays 1')
  t.equal(agentWeight(1, 1), 1)
  t.equal(agentWeight(10, 155), 16, 'rounded')
  t.equal(agentWeight(200, 200), 256, 'capped at 256')
  t.equal(agentWeight(0, 100), 0, 'an operator weight 0 stays 0')
})

// `--help` on every command (from the real binary: exit 0, usage on stdout,
// flags and exit codes), the command list, and docs/cli.md in step with the
// command table (every command has its section with its exit codes verbatim).
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { COMMANDS, commandHelp } from '../../src/cli/commands.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const DOC = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8')

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

function l4lb(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

t.test('every command answers --help and -h with exit 0 and its exit codes', async (t) => {
  // --help for each; -h among other arguments for every other one (fewer processes on a busy machine)
  const runs = await Promise.all(COMMANDS.map((c, i) => l4lb(i % 2 === 0 ? [c.name, '--help'] : [c.name, '-c', 'x.yaml', '-h'])))
  COMMANDS.forEach((c, i) => {
    const r = runs[i]
    t.equal(r.code, 0, `${c.name} --help`)
    t.equal(r.stderr, '', `${c.name}: nothing on stderr`)
    t.equal(r.stdout, commandHelp(c), `${c.name}: the table's help`)
    t.match(r.stdout, new RegExp(`^usage: l4lb ${c.name}\\b[^]*\\nexit codes: 0 `), c.name)
  })
})

t.test('command list, help CMD, unknown and missing commands', async (t) => {
  const [help, helpWeight, none, unknown, unknownHelp, version, afterDashes, dashV, dashBigV] = await Promise.all([
    l4lb(['--help']),
    l4lb(['help', 'weight']),
    l4lb([]),
    l4lb(['frobnicate']),
    l4lb(['help', 'frobnicate']),
    l4lb(['--version']),
    l4lb(['check', '--', '--help']),
    l4lb(['-v']),
    l4lb(['-V']),
  ])
  t.equal(help.code, 0)
  for (const c of COMMANDS) t.match(help.stdout, new RegExp(`^ {2}${escape(c.synopsis)} +${escape(c.summary)}$`, 'm'), c.name)
  t.same([helpWeight.code, helpWeight.stdout], [0, commandHelp(COMMANDS.find((c) => c.name === 'weight')!)])
  t.same([none.code, none.stdout], [2, ''])
  t.match(none.stderr, /^usage: l4lb <command>/)
  t.same([unknown.code, unknownHelp.code], [2, 2])
  t.match(unknown.stderr, /^l4lb: unknown command "frobnicate"\nusage:/)
  t.match(unknownHelp.stderr, /^l4lb: unknown command "frobnicate"/)
  t.equal(version.code, 0)
  t.match(version.stdout, /^l4lb \d+\.\d+\.\d+ \(node v\d+/)
  t.equal(afterDashes.code, 2, 'a --help after -- is an argument, not a help request')
  t.same([dashV.code, dashV.stdout, dashBigV.code, dashBigV.stdout], [0, version.stdout, 0, version.stdout], '-v and -V print the version, as haproxy -v does')
})

t.test('docs/cli.md documents every command and its exit codes', async (t) => {
  for (const c of COMMANDS) {
    const at = DOC.indexOf(`\n## l4lb ${c.synopsis}\n`)
    t.not(at, -1, `section "## l4lb ${c.synopsis}"`)
    const next = DOC.indexOf('\n## ', at + 1)
    const section = DOC.slice(at, next === -1 ? undefined : next)
    t.ok(section.includes(`Exit codes: ${c.exits}.`), `${c.name}: exit codes as in the table`)
  }
  const documented = [...DOC.matchAll(/^## l4lb (\S+)/gm)].map((m) => m[1])
  t.same(documented, COMMANDS.map((c) => c.name), 'no section for a command that does not exist; table order')
})

// `l4lb check` as a user runs it: a real process, its exit code and output.
// Also the flag parsing table (exit 2 names the flag).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { checkCommand, parseCheckArgs } from '../../src/cli/check.ts'

const root = join(import.meta.dirname, '..', '..')
const checkUrl = pathToFileURL(join(root, 'src', 'cli', 'check.ts')).href
const script = `import(${JSON.stringify(checkUrl)}).then(async (m) => { process.exitCode = await m.checkCommand(process.argv.slice(1)) })`

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return runEnv({}, ...args)
}

/** `env` on top of this process's, without L4LB_ENGINE (the suite may run under it). */
function runEnv(env: Record<string, string>, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const e: Record<string, string | undefined> = { ...process.env, ...env }
  delete e.L4LB_ENGINE
  // `--` keeps node from reading `-c` as its own --check flag.
  const r = spawnSync(process.execPath, ['-e', script, '--', ...args], { encoding: 'utf8', timeout: 20_000, cwd: root, env: e })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

t.test('valid file: exit 0, one summary line', async (t) => {
  const r = run('-c', 'examples/minimal.yaml')
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stdout, 'examples/minimal.yaml: OK (1 listener, 1 pool, 2 backends, ' + r.stdout.match(/\d+ workers?\)/)?.[0] + '\n' + 'engine: auto -> native\n', 'the engine it would run: native, the addon being built')
  t.equal(r.stderr, '')
})

t.test('without the native addon: still valid, and it says the JavaScript engine will run and why', async (t) => {
  const r = runEnv({ L4LB_NATIVE_ADDON: join(root, 'native', 'build', 'missing.node') }, '-c', 'examples/minimal.yaml')
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^engine: auto -> js \(native engine unavailable: not built \(.*missing\.node missing\): install gcc, then run 'npm rebuild l4lb'/m)
})

t.test('invalid file: exit 1, every error on its own line', async (t) => {
  const r = run('--config', 'test/fixtures/configs/bad/pool-reference.yaml')
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  t.equal(r.stderr, [
    'listeners[0].pool: no pool named "proxys" (did you mean "proxies"?)',
    'listeners[1].pool: no pool named "nothing-like-it"',
    'test/fixtures/configs/bad/pool-reference.yaml: invalid (2 errors)',
    '',
  ].join('\n'))
})

t.test('missing file: exit 1 naming the path', async (t) => {
  const r = run('--config=no/such/file.yaml')
  t.equal(r.code, 1)
  t.equal(r.stderr, 'no/such/file.yaml: file not found\n', 'one line: nothing was validated, so no "invalid (1 error)" count')
})

t.test('usage errors: exit 2 naming the flag', async (t) => {
  const r = run('-c', 'examples/minimal.yaml', '--verbose')
  t.equal(r.code, 2)
  t.match(r.stderr, /unknown flag --verbose/)
})

const usage: [string[], string][] = [
  [[], 'missing required flag -c FILE'],
  [['-c'], 'flag -c needs a file path'],
  [['--config'], 'flag --config needs a file path'],
  [['--config='], 'flag --config needs a file path'],
  [['-c', '--strict'], 'flag -c needs a file path'],
  [['-x'], 'unknown flag -x'],
  [['--file', 'a.yaml'], 'unknown flag --file'],
  [['a.yaml'], 'unexpected argument "a.yaml" (pass the file with -c)'],
]
for (const [args, message] of usage) {
  t.test(`check ${JSON.stringify(args)}`, async (t) => {
    t.same(parseCheckArgs(args), { ok: false, message })
    const err: string[] = []
    const code = await checkCommand(args, { out: () => t.fail('no stdout'), err: (l) => err.push(l) })
    t.equal(code, 2)
    t.same(err, [`l4lb check: ${message}`, 'usage: l4lb check -c FILE'])
  })
}

t.test('accepted flag spellings', async (t) => {
  t.same(parseCheckArgs(['-c', 'a.yaml']), { ok: true, file: 'a.yaml' })
  t.same(parseCheckArgs(['--config', 'a.yaml']), { ok: true, file: 'a.yaml' })
  t.same(parseCheckArgs(['--config=a.yaml']), { ok: true, file: 'a.yaml' })
  t.same(parseCheckArgs(['-c', '-']), { ok: true, file: '-' })
})

// deploy/l4lb.service: the keys the brief of a production unit needs (reload
// = SIGHUP, stop = SIGTERM with a stop timeout above the drain deadline,
// hardening, CAP_NET_BIND_SERVICE only, user l4lb), its commands accepted by
// our own CLI, and `systemd-analyze verify` clean (scripts/setup-system.sh
// installs systemd, so it is never skipped; a broken copy shows the check bites).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../../src/config/load.ts'
import { lastValue, parseUnit, timeSpanMs } from './unit-file.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const UNIT_PATH = join(ROOT, 'deploy/l4lb.service')
const text = readFileSync(UNIT_PATH, 'utf8')
const unit = parseUnit(text)
const svc = (key: string): string | undefined => lastValue(unit, 'Service', key)
const BIN = '/usr/local/bin/l4lb'

t.test('unit parses with the sections systemd needs', async (t) => {
  t.same([...unit.keys()], ['Unit', 'Service', 'Install'])
  t.equal(lastValue(unit, 'Install', 'WantedBy'), 'multi-user.target')
  t.equal(svc('Type'), 'exec')
  t.throws(() => parseUnit('[Service]\nnot a key\n'), /line 2: not a \[Section\] or Key=Value/)
})

t.test('run, check first, reload = SIGHUP to the primary, stop = SIGTERM with drain time', async (t) => {
  t.equal(svc('ExecStart'), `${BIN} run -c /etc/l4lb/l4lb.yaml`)
  t.equal(svc('ExecStartPre'), `${BIN} check -c /etc/l4lb/l4lb.yaml`)
  t.equal(svc('ExecReload'), '/bin/kill -HUP $MAINPID')
  t.equal(svc('KillSignal'), 'SIGTERM')
  t.equal(svc('KillMode'), 'mixed', 'SIGTERM to the primary only; it stops its workers')
  const cfg = parseConfig('listeners: [ { bind: 127.0.0.1:8080 } ]\npools: [ { name: p, backends: [ { host: 127.0.0.1, port: 9001 } ] } ]\n')
  if (!cfg.ok) throw new Error('default config invalid')
  const stopMs = timeSpanMs(svc('TimeoutStopSec') ?? '')
  t.ok(stopMs >= cfg.config.shutdown.drainMs + 10_000, `TimeoutStopSec ${stopMs} ms >= default drain ${cfg.config.shutdown.drainMs} ms + 10 s to stop workers and flush`)
  t.equal(svc('Restart'), 'on-failure')
})

t.test('hardening: unprivileged user, CAP_NET_BIND_SERVICE only, read-only system', async (t) => {
  const want: Record<string, string> = {
    User: 'l4lb',
    Group: 'l4lb',
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
    AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
    RestrictSUIDSGID: 'yes',
    SystemCallArchitectures: 'native',
  }
  for (const [key, value] of Object.entries(want)) t.equal(svc(key), value, key)
  t.match(svc('RestrictAddressFamilies'), /\bAF_UNIX\b/, 'workers need AF_UNIX for IPC with the primary')
  t.equal(svc('MemoryDenyWriteExecute'), undefined, "not set: V8's JIT needs W+X memory")
  const sysusers = readFileSync(join(ROOT, 'deploy/l4lb.sysusers.conf'), 'utf8')
  t.match(sysusers, /^u l4lb - /m, 'deploy/l4lb.sysusers.conf creates the user')
})

t.test('the unit commands are valid l4lb command lines', async (t) => {
  // ExecStartPre, run as it is with the example config in place of /etc/l4lb/l4lb.yaml
  const [bin, ...args] = (svc('ExecStartPre') ?? '').split(/\s+/)
  t.equal(bin, BIN)
  const argv = args.map((a) => (a === '/etc/l4lb/l4lb.yaml' ? join(ROOT, 'examples/minimal.yaml') : a))
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/l4lb.js'), ...argv], { encoding: 'utf8', timeout: 30_000 })
  t.equal(r.status, 0, `ExecStartPre: l4lb ${argv.join(' ')}\n${r.stderr}`)
  const run = spawnSync(process.execPath, [join(ROOT, 'bin/l4lb.js'), 'run', '--help'], { encoding: 'utf8', timeout: 30_000 })
  t.match(run.stdout, /^usage: l4lb run -c FILE/, 'run -c is the run synopsis')
})

t.test('systemd-analyze verify: clean, and it reports a broken copy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // verify checks that ExecStart binaries exist: point them at this checkout's bin.
  const local = text.replaceAll(BIN, join(ROOT, 'bin/l4lb.js'))
  writeFileSync(join(dir, 'l4lb.service'), local)
  const verify = (file: string) => spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, file)], { encoding: 'utf8', timeout: 30_000 })
  const r = verify('l4lb.service')
  t.equal(r.error, undefined, 'systemd-analyze runs (npm test installs systemd: scripts/setup-system.sh)')
  t.same([r.status, r.stderr], [0, ''], 'no error and no warning')
  writeFileSync(join(dir, 'broken.service'), local.replace('ProtectSystem=strict', 'ProtectSystm=strict').replace('KillMode=mixed', 'KillMode=gently'))
  const b = verify('broken.service')
  t.match(b.stderr, /Unknown key '?ProtectSystm'?/)
  t.match(b.stderr, /kill mode/i)
})

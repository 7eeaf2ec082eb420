// Host-side steps of lab:up and their undo in lab:down: apt packages, a Docker
// daemon started only when none answers, the DOCKER-USER accept rules that let
// routed lab traffic cross the internal bridges, and the bridge addresses
// Docker puts on the host (flushed so the host has no route into the lab).
// Each step records what it changed in lab/.state/host.json before moving on.
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { run, must, which, log } from './exec.ts'
import { STATE_DIR, type Lab } from './data.ts'
import { dockerUp, composeAvailable } from './docker.ts'
import { readState, updateState } from './state.ts'
import { until } from './poll.ts'

const NEEDED: Array<[bin: string, pkg: string]> = [
  ['dockerd', 'docker.io'], ['debootstrap', 'debootstrap'], ['iptables', 'iptables'], ['nft', 'nftables'], ['ip', 'iproute2'],
]
const DATA_ROOT = '/var/lib/l4lb-lab/docker'
const EXEC_ROOT = '/run/l4lb-lab-docker'
const SYSCTLS = ['net/ipv4/ip_forward', 'net/bridge/bridge-nf-call-iptables', 'net/bridge/bridge-nf-call-ip6tables', 'net/bridge/bridge-nf-call-arptables']

export function ensurePackages(): void {
  const missing = NEEDED.filter(([bin]) => !which(bin) && !existsSync(`/usr/sbin/${bin}`)).map(([, pkg]) => pkg)
  const needCompose = !composeAvailable()
  if (needCompose) missing.push('docker-compose')
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) throw new Error(`missing packages ${missing.join(' ')}; run as root or install them`)
  log(`installing ${missing.join(' ')} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  must('apt-get', ['update', '-q'], { env, timeoutMs: 300_000 })
  must('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 })
  updateState((s) => { s.aptInstalled = [...new Set([...(s.aptInstalled ?? []), ...missing])] })
}

function readSysctl(k: string): string | undefined {
  try { return readFileSync(`/proc/sys/${k}`, 'utf8').trim() } catch { return undefined }
}

/** Starts dockerd (setsid, own data/exec roots) unless a daemon already answers. */
export async function ensureDockerd(): Promise<void> {
  if (dockerUp()) return
  const st = readState()
  if (st.dockerd && processAlive(st.dockerd.pid)) throw new Error(`dockerd ${st.dockerd.pid} from an earlier lab:up is running but not answering; run lab:down`)
  mkdirSync(STATE_DIR, { recursive: true })
  const sysctls: Record<string, string> = {}
  for (const k of SYSCTLS) { const v = readSysctl(k); if (v !== undefined) sysctls[k] = v }
  let nftFile: string | undefined
  if (which('nft')) {
    nftFile = path.join(STATE_DIR, 'nft-before.nft')
    if (!st.before) writeFileSync(nftFile, must('nft', ['list', 'ruleset']))
  }
  const docker0 = run('ip', ['link', 'show', 'docker0']).code === 0
  // Keep the oldest record: after a down that could not finish, the host is not in its original state.
  updateState((s) => { s.before ??= { sysctls, nftFile, docker0 } })
  const createdDataRoot = !existsSync(DATA_ROOT)
  mkdirSync(DATA_ROOT, { recursive: true })
  const logFile = path.join(STATE_DIR, 'dockerd.log')
  const pidfile = path.join(STATE_DIR, 'dockerd.pid')
  const fd = openSync(logFile, 'a')
  const dockerd = which('dockerd') ?? '/usr/sbin/dockerd'
  rmSync(pidfile, { force: true })
  // detached: the child calls setsid() itself, so it outlives this script in its own session.
  const p = spawn(dockerd, ['--data-root', DATA_ROOT, '--exec-root', EXEC_ROOT, '--pidfile', pidfile], { detached: true, stdio: ['ignore', fd, fd] })
  p.unref()
  updateState((s) => { s.dockerd = { pid: p.pid ?? -1, pidfile, log: logFile, dataRoot: DATA_ROOT, execRoot: EXEC_ROOT, createdDataRoot } })
  log(`started dockerd (pid ${p.pid}), log ${logFile}`)
  await until('the Docker daemon to answer', () => dockerUp(), { deadlineMs: 60_000, intervalMs: 250 })
}

export function processAlive(pid: number): boolean {
  // A killed daemon can linger as a zombie that kill -0 still reaches; read its state.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/\) [ZX] /.test(stat)
  } catch { return false }
}

function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(dir + '/')).sort((a, b) => b.length - a.length)
  for (const m of mounts) run('umount', ['-l', m])
}

function tryRm(dir: string): void {
  try { rmSync(dir, { recursive: true, force: true }) } catch (e) { log(`could not remove ${dir}: ${String(e)}`) }
}

/** Stops the dockerd lab:up started (by PID) and puts back the host state it recorded. */
export async function stopDockerdAndRestore(keepImages: boolean): Promise<void> {
  const st = readState()
  if (st.dockerd) {
    const { pid } = st.dockerd
    if (processAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dockerd')) {
      log(`stopping dockerd ${pid}`)
      process.kill(pid, 'SIGTERM')
      try {
        await until('dockerd to exit', () => !processAlive(pid), { deadlineMs: 30_000, intervalMs: 100 })
      } catch {
        process.kill(pid, 'SIGKILL')
        await until('dockerd to die', () => !processAlive(pid), { deadlineMs: 5_000, intervalMs: 100 })
      }
    }
    // Docker can leave netns and overlay mounts behind (e.g. of a container whose init was
    // SIGKILLed); unmount them lazily so the directories can go.
    unmountUnder(st.dockerd.execRoot)
    if (!keepImages) { // the data root is the lab's own (never a pre-existing daemon's)
      log(`removing ${st.dockerd.dataRoot}`)
      unmountUnder(st.dockerd.dataRoot)
      tryRm(path.dirname(st.dockerd.dataRoot))
    }
    tryRm(st.dockerd.execRoot)
    updateState((s) => { delete s.dockerd })
  }
  if (st.before) {
    for (const [k, v] of Object.entries(st.before.sysctls)) {
      if (readSysctl(k) !== v) { try { writeFileSync(`/proc/sys/${k}`, v) } catch (e) { log(`could not restore ${k}: ${String(e)}`) } }
    }
    if (!st.before.docker0 && run('ip', ['link', 'show', 'docker0']).code === 0) run('ip', ['link', 'del', 'docker0'])
    if (st.before.nftFile && existsSync(st.before.nftFile) && which('nft')) {
      const before = readFileSync(st.before.nftFile, 'utf8')
      if (must('nft', ['list', 'ruleset']) !== before) {
        log('restoring the nftables ruleset saved before dockerd started')
        must('nft', ['flush', 'ruleset'])
        if (before.trim()) must('nft', ['-f', st.before.nftFile])
      }
    }
    updateState((s) => { delete s.before })
  }
}

/** Lets frames routed between lab nodes cross each internal bridge (Docker's isolation drops off-subnet destinations). */
export function addBridgeAccepts(lab: Lab): void {
  for (const net of Object.values(lab.networks)) {
    const rule = ['DOCKER-USER', '-i', net.bridge, '-o', net.bridge, '-j', 'ACCEPT']
    if (run('iptables', ['-C', ...rule]).code === 0) continue
    must('iptables', ['-I', ...rule])
    updateState((s) => { s.iptablesRules = [...(s.iptablesRules ?? []), rule] })
  }
}

export function removeBridgeAccepts(): void {
  const st = readState()
  for (const rule of st.iptablesRules ?? []) {
    while (run('iptables', ['-C', ...rule]).code === 0) run('iptables', ['-D', ...rule])
  }
  updateState((s) => { delete s.iptablesRules })
}

/** Docker gives each bridge a gateway address on the host; remove it so the host has no route into the lab. */
export function flushBridgeAddrs(lab: Lab): void {
  for (const net of Object.values(lab.networks)) {
    if (run('ip', ['link', 'show', net.bridge]).code === 0) must('ip', ['-4', 'addr', 'flush', 'dev', net.bridge])
  }
}

// CPU weight of the cgroup that holds every lab container, against the host's own processes.
// Under cgroup v1 each task in the root cgroup weighs as much as the whole docker group, so on
// a shared machine (other test suites beside the lab) the eleven containers got the share of
// ONE busy process: BIRD missed BFD's 100 ms x 3 and sessions flapped with nobody touching the
// lab. Weight only counts under contention; lab:down puts the old value back.
const CPU_WEIGHT: Array<{ file: string; value: string }> = [
  { file: '/sys/fs/cgroup/cpu/docker/cpu.shares', value: '16384' }, // v1: 16 x a nice-0 task (default 1024)
  { file: '/sys/fs/cgroup/docker/cpu.weight', value: '1600' }, // v2: 16 x the default 100
]

/** Raises the lab's docker cgroup CPU weight (see CPU_WEIGHT) and records the old value; a no-op where neither file exists. */
export function raiseLabCpuWeight(): void {
  for (const w of CPU_WEIGHT) {
    if (!existsSync(w.file)) continue
    const before = readFileSync(w.file, 'utf8').trim()
    if (before === w.value) return
    updateState((s) => { s.cpuWeight ??= { file: w.file, before } })
    try { writeFileSync(w.file, w.value) } catch (e) { log(`could not raise the lab's CPU weight (${w.file}): ${String(e)}`); return }
    log(`lab containers' CPU weight ${w.file}: ${before} -> ${w.value}`)
    return
  }
}

export function restoreLabCpuWeight(): void {
  const st = readState()
  if (!st.cpuWeight) return
  if (existsSync(st.cpuWeight.file)) { try { writeFileSync(st.cpuWeight.file, st.cpuWeight.before) } catch { /* the daemon removed it */ } }
  updateState((s) => { delete s.cpuWeight })
}

export function hostRoutesIntoLab(): string[] {
  return must('ip', ['-4', 'route', 'show']).split('\n').filter((l) => /^198\.1[89]\./.test(l))
}


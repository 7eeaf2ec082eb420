// Measure 4: memory per idle proxied connection. On a freshly started proxy, a Node
// client process opens K idle connections through the proxy's `http` frontend; the
// proxy's whole process tree RSS before and after, divided by K. The backend side is
// checked too (established sockets on the nginx ports) so a proxy that has not yet
// dialled its backends is not credited with a small figure.
import { join } from 'node:path'
import { startPiped, stopProc } from './procs.ts'
import { establishedOn, treeRss } from './proctree.ts'

export interface IdleResult {
  readonly connections: number // opened by the client
  readonly backendConnections: number // established at the backends (should equal `connections`)
  readonly rssBeforeBytes: number
  readonly rssAfterBytes: number
  readonly rssAfterCloseBytes: number
  /** RSS readings (bytes) every SETTLE_STEP_MS once every connection was established, up to the settled one. */
  readonly rssSamples: readonly number[]
  /** How long (ms) the RSS took to settle (SETTLE_SPAN_MS steady), or SETTLE_MAX_MS when it never did. */
  readonly settleMs: number
  readonly kbPerConn: number // (after - before) / connections / 1024
  readonly failed: number
}

const CLIENT = new URL('./idle-client.ts', import.meta.url).pathname
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * The RSS is read once it has settled, before and after the connections:
 * readings every SETTLE_STEP_MS until those of the last SETTLE_SPAN_MS lie
 * within SETTLE_BAND_BYTES of each other, at most SETTLE_MAX_MS. A proxy in C
 * is steady at once; a freshly started Node process still allocates for a
 * while (compiling, its first timers and reports), and a single reading at a
 * fixed delay counted part of that as the connections' cost.
 */
export const SETTLE_STEP_MS = 500
export const SETTLE_SPAN_MS = 3000
export const SETTLE_BAND_BYTES = 256 * 1024
export const SETTLE_MAX_MS = 20_000

/** Reads `rss()` until it settles (see SETTLE_*); returns the readings and how long it took (ms). */
export async function settledRss(rss: () => number): Promise<{ samples: number[]; settleMs: number }> {
  const samples = [rss()]
  const window = SETTLE_SPAN_MS / SETTLE_STEP_MS + 1
  for (let waited = 0; waited < SETTLE_MAX_MS; ) {
    await sleep(SETTLE_STEP_MS)
    waited += SETTLE_STEP_MS
    samples.push(rss())
    const last = samples.slice(-window)
    if (last.length === window && Math.max(...last) - Math.min(...last) <= SETTLE_BAND_BYTES) return { samples, settleMs: waited }
  }
  return { samples, settleMs: SETTLE_MAX_MS }
}

/** Resolves with the first line the child prints, or rejects after `timeoutMs`. */
function firstLine(stream: NodeJS.ReadableStream, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`idle client silent for ${timeoutMs} ms`)), timeoutMs)
    stream.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(buf.slice(0, nl))
      }
    })
    stream.once('end', () => {
      clearTimeout(timer)
      reject(new Error('idle client exited before reporting'))
    })
  })
}

/** Polls `f` until it returns true or `timeoutMs` passes; returns the last answer. */
async function pollUntil(f: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (f()) return true
    await sleep(200)
  }
  return f()
}

/**
 * Opens `count` idle connections to `port` (the proxy's frontend), whose backends
 * listen on `backendPorts`; measures the tree under `pid`. `logDir` holds the client's stderr.
 */
export async function measureIdle(port: number, pid: number, backendPorts: readonly number[], count: number, logDir: string): Promise<IdleResult> {
  const baseBackend = establishedOn(backendPorts)
  const before = await settledRss(() => treeRss(pid)) // the fresh proxy's start-up allocations done
  const rssBefore = before.samples[before.samples.length - 1]!
  const client = startPiped('idle client', process.execPath, [CLIENT, String(port), String(count), '300'], join(logDir, 'idle-client.log'))
  try {
    const stdout = client.child.stdout
    if (!stdout) throw new Error('idle client has no stdout')
    const report = JSON.parse(await firstLine(stdout, 120_000)) as { opened: number; failed: number }
    // The proxy dials its backends after accepting: wait until they are all established.
    const want = baseBackend + Math.floor(report.opened * 0.99)
    await pollUntil(() => establishedOn(backendPorts) >= want, 15_000)
    const backendConnections = establishedOn(backendPorts) - baseBackend
    const settled = await settledRss(() => treeRss(pid))
    const rssAfter = settled.samples[settled.samples.length - 1]!
    client.child.stdin?.end('close\n')
    await Promise.race([client.exited, sleep(15_000)])
    await pollUntil(() => establishedOn(backendPorts) <= baseBackend, 10_000)
    await sleep(1000)
    const rssAfterClose = treeRss(pid)
    return {
      connections: report.opened,
      backendConnections,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssAfterCloseBytes: rssAfterClose,
      rssSamples: settled.samples,
      settleMs: settled.settleMs,
      kbPerConn: report.opened > 0 ? (rssAfter - rssBefore) / report.opened / 1024 : 0,
      failed: report.failed,
    }
  } finally {
    await stopProc(client)
  }
}

// Builds large picker tables on a worker thread so the process's event loop
// (connections, IPC, signals, the admin API) never waits for one. One thread
// per process, started on first use and stopped after IDLE_MS without work;
// it never keeps the process alive (unref'd). If the thread cannot start or
// dies, the table is built on the calling thread instead: slower, never wrong.
import { Worker } from 'node:worker_threads'
import { buildTable, type BuiltTable, type TableSpec } from './tables.ts'

const THREAD_MAIN = new URL('./table-thread.ts', import.meta.url)
const IDLE_MS = 10_000

type Job = { resolve: (t: BuiltTable) => void; spec: TableSpec }

let thread: Worker | null = null
let idleTimer: NodeJS.Timeout | null = null
let nextId = 0
const jobs = new Map<number, Job>()

function failAll(): void {
  thread = null
  // The thread is gone: finish what it held here.
  for (const [id, job] of jobs) {
    jobs.delete(id)
    job.resolve(buildTable(job.spec))
  }
}

function ensureThread(): Worker | null {
  if (thread) return thread
  try {
    const w = new Worker(THREAD_MAIN)
    w.unref()
    w.on('message', (m: { id: number; table?: BuiltTable; error?: string }) => {
      const job = jobs.get(m.id)
      if (!job) return
      jobs.delete(m.id)
      job.resolve(m.table ?? buildTable(job.spec))
      if (jobs.size === 0) armIdle()
    })
    w.on('error', () => {
      if (thread === w) failAll()
    })
    w.on('exit', () => {
      if (thread === w) failAll()
    })
    thread = w
    return w
  } catch {
    return null
  }
}

function armIdle(): void {
  if (idleTimer) clearTimeout(idleTimer)
  idleTimer = setTimeout(() => {
    idleTimer = null
    if (jobs.size > 0 || !thread) return
    const w = thread
    thread = null
    void w.terminate()
  }, IDLE_MS)
  idleTimer.unref()
}

/**
 * Build every spec off the event loop; resolves with the tables in the same
 * order. Never rejects: a spec the thread cannot build is built here.
 */
export function buildTablesOffThread(specs: readonly TableSpec[]): Promise<BuiltTable[]> {
  if (idleTimer) {
    clearTimeout(idleTimer)
    idleTimer = null
  }
  return Promise.all(
    specs.map(
      (spec) =>
        new Promise<BuiltTable>((resolve) => {
          const w = ensureThread()
          if (!w) return resolve(buildTable(spec))
          const id = ++nextId
          jobs.set(id, { resolve, spec })
          w.postMessage({ id, spec })
        }),
    ),
  )
}

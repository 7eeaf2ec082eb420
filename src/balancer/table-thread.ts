// Entry of the table-building thread (worker_threads): builds each TableSpec
// it is sent and posts the result back, transferring the typed arrays (no
// copy). Pure computation: no sockets, no timers, no logging.
import { parentPort } from 'node:worker_threads'
import { buildTable, type TableSpec } from './tables.ts'

parentPort?.on('message', (job: { id: number; spec: TableSpec }) => {
  try {
    const t = buildTable(job.spec)
    const transfer = t instanceof Int32Array ? [t.buffer] : [t.points.buffer, t.owners.buffer]
    parentPort!.postMessage({ id: job.id, table: t }, transfer as ArrayBuffer[])
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message })
  }
})

// Reads, parses and validates a config file on a worker thread, so a large
// file (parsing YAML costs ~0.1 ms of CPU a backend: seconds at the limit)
// never holds the primary's event loop: the admin API, signals and health
// checks carry on during a reload. The result is the same as loadConfigFile's.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { deepFreeze } from '../freeze.ts'
import { loadConfigFile, type ParseOptions } from './load.ts'
import type { ConfigResult } from './types.ts'

/**
 * loadConfigFile(path, options), computed on a one-shot thread. Resolves with
 * { ok: true, config } (deep-frozen) or { ok: false, errors }; never rejects:
 * if the thread itself fails, the file is loaded on this thread instead.
 */
export function loadConfigFileOffThread(path: string, options: ParseOptions = {}): Promise<ConfigResult> {
  return new Promise((resolve) => {
    let done = false
    const fallback = (): void => {
      if (done) return
      done = true
      void loadConfigFile(path, options).then(resolve)
    }
    let w: Worker
    try {
      w = new Worker(new URL(import.meta.url), { workerData: { path, options } })
    } catch {
      return fallback()
    }
    w.once('message', (r: ConfigResult) => {
      if (done) return
      done = true
      resolve(r.ok ? { ok: true, config: deepFreeze(r.config) } : r)
      void w.terminate()
    })
    w.once('error', fallback)
    w.once('exit', fallback)
  })
}

if (!isMainThread && parentPort !== null) {
  const { path, options } = workerData as { path: string; options: ParseOptions }
  const port = parentPort
  void loadConfigFile(path, options).then((r) => port.postMessage(r))
}

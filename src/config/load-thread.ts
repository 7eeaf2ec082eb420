// Reads, parses and validates a config file on a worker thread, so a large
// file (parsing YAML costs ~0.1 ms of CPU a backend: seconds at the limit)
// never holds the primary's event loop: the admin API, signals and health
// checks carry on during a reload. The result is the same as loadConfigFile's.
// A small file is parsed in place: starting the thread (and loading the config
// modules in it) costs ~200 ms, parsing a typical file ~6 ms (examples/l4lb.yaml,
// sources run by Node's type stripping), so every ordinary reload paid 30x.
import { stat } from 'node:fs/promises'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { deepFreeze } from '../freeze.ts'
import { loadConfigFile, type ParseOptions } from './load.ts'
import type { ConfigResult } from './types.ts'

/**
 * Files up to this size (bytes) are parsed on the calling thread: at ~100 bytes
 * and ~0.1 ms a backend that holds the event loop for ~60 ms at most.
 */
export const INLINE_MAX_BYTES = 64 * 1024

/**
 * loadConfigFile(path, options): in place for a file of at most INLINE_MAX_BYTES
 * (or one stat cannot read: loadConfigFile reports why), else on a one-shot thread. Resolves with
 * { ok: true, config } (deep-frozen) or { ok: false, errors }; never rejects:
 * if the thread itself fails, the file is loaded on this thread instead.
 */
export async function loadConfigFileOffThread(path: string, options: ParseOptions = {}): Promise<ConfigResult> {
  const size = await stat(path).then((s) => s.size, () => 0)
  if (size <= INLINE_MAX_BYTES) return frozen(await loadConfigFile(path, options))
  return onThread(path, options)
}

const frozen = (r: ConfigResult): ConfigResult => (r.ok ? { ok: true, config: deepFreeze(r.config) } : r)

function onThread(path: string, options: ParseOptions): Promise<ConfigResult> {
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
      resolve(frozen(r))
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

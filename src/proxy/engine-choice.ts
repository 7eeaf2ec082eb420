// Loading the native engine's addon (once per process) and choosing the
// engine a config asks for (`engine: auto | js | native`, or L4LB_ENGINE):
// `auto` falls back to JavaScript and says why; an explicit `native` that
// cannot run is a config problem. The pump itself is native-engine.ts.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Config, EngineChoice } from '../config/types.ts'
import { type NativeAddon, NativePump } from './native-engine.ts'

export type { EngineChoice }

/** Where the addon is: L4LB_NATIVE_ADDON (a sanitizer build, tests) or native/build/. */
export function addonPath(): string {
  return process.env.L4LB_NATIVE_ADDON ?? fileURLToPath(new URL('../../native/build/l4lb_pump.node', import.meta.url))
}

export type NativeLoad = { readonly pump: NativePump; readonly error: null } | { readonly pump: null; readonly error: string }

let loaded: NativeLoad | null = null

/** Require the addon at `path`: it, or why it cannot run here (not Linux, not built, fails to load). */
function requireAddon(path: string): { addon: NativeAddon } | { error: string } {
  if (process.platform !== 'linux') return { error: 'the native engine needs Linux' }
  if (!existsSync(path)) return { error: `not built (${path} missing): install gcc, then run 'npm rebuild l4lb' (or 'sh scripts/build-native.sh')` }
  try {
    return { addon: createRequire(import.meta.url)(path) as NativeAddon }
  } catch (err) {
    return { error: `failed to load ${path}: ${(err as Error).message}` }
  }
}

/**
 * Load the addon and start its thread, once per process. Never throws:
 * `error` says why there is no native engine (not built, failed to load).
 */
export function loadNative(maxConns = 65536): NativeLoad {
  if (loaded !== null) return loaded
  const r = requireAddon(addonPath())
  loaded = 'error' in r ? { pump: null, error: r.error } : { pump: new NativePump(r.addon, maxConns), error: null }
  return loaded
}

/** `engine` from the config, unless the L4LB_ENGINE environment variable names one (CI runs the suite per engine). */
export function engineChoice(config: Config): EngineChoice {
  const env = process.env.L4LB_ENGINE
  return env === 'js' || env === 'native' || env === 'auto' ? env : config.engine
}

/**
 * Why the native engine cannot run in this process (not Linux, not built, fails to load), or null
 * when the addon loads. Loads the addon but starts no thread: for the primary and `check`.
 */
export function nativeUnavailable(): string | null {
  if (loaded !== null) return loaded.error
  const r = requireAddon(addonPath())
  return 'error' in r ? r.error : null
}

/**
 * The problem with `config`'s engine on this machine, as a config error line, or null. Only an
 * explicit `engine: native` (or L4LB_ENGINE=native) that cannot run is a problem: `auto` falls back
 * to JavaScript and says so. `run` refuses to start on it, a reload is rejected, `check` fails.
 */
export function engineProblem(config: Config): string | null {
  if (engineChoice(config) !== 'native') return null
  const why = nativeUnavailable()
  return why === null ? null : `engine: "native" is set but the native engine is unavailable: ${why} (or set engine: auto to fall back to JavaScript)`
}

/** The pump if this process loaded it (even when `engine` has since become js: its sessions live on), else null. */
export function loadedPump(): NativePump | null {
  return loaded?.pump ?? null
}

/** What `engine` resolves to in this process: the pump, or null for JavaScript, and why. */
export function resolveEngine(choice: EngineChoice): { pump: NativePump | null; engine: 'js' | 'native'; note: string | null } {
  if (choice === 'js') return { pump: null, engine: 'js', note: null }
  const n = loadNative()
  if (n.pump !== null) return { pump: n.pump, engine: 'native', note: null }
  return { pump: null, engine: 'js', note: n.error }
}

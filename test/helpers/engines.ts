// Run a data-path test file against each engine (config `engine`): the same
// tests, registered once per engine inside a subtest that sets L4LB_ENGINE
// (the Engine reads it, and so do processes the tests start). The native
// pass checks that the addon is loaded and that it did carry sessions, so a
// pass that silently fell back to JavaScript cannot look green.
import t, { type Test } from 'tap'
import { loadNative } from '../../src/proxy/engine-choice.ts'
import type { NativePump } from '../../src/proxy/native-engine.ts'

export type Engine = 'js' | 'native'
export const ENGINES: readonly Engine[] = ['js', 'native']

/** Set L4LB_ENGINE to `engine` for `owner`'s duration (a test, or tap's root): restored at its teardown. */
export function useEngine(owner: { teardown(fn: () => unknown): void }, engine: Engine): void {
  const prev = process.env.L4LB_ENGINE
  process.env.L4LB_ENGINE = engine
  owner.teardown(() => {
    if (prev === undefined) delete process.env.L4LB_ENGINE
    else process.env.L4LB_ENGINE = prev
  })
}

/** This process's native pump; throws (naming why) when the addon is not loaded. */
export function nativePump(): NativePump {
  const n = loadNative()
  if (n.pump === null) throw new Error(`the native addon is not loaded: ${n.error}`)
  return n.pump
}

/**
 * Register `body`'s tests once per engine, each group in a subtest named
 * `engine: <name>`. `inProcess` false: the sessions live in forked workers,
 * so this process's pump is not checked (the test asserts on /metrics).
 */
export function forEachEngine(body: (t: Test, engine: Engine) => void, { inProcess = true }: { inProcess?: boolean } = {}, parent: Test = t): void {
  for (const engine of ENGINES) {
    parent.test(`engine: ${engine}`, (tt) => {
      useEngine(tt, engine)
      if (engine === 'native' && inProcess) {
        const n = loadNative()
        if (n.pump === null) {
          tt.fail(`the native addon is not loaded: ${n.error}`)
          return tt.end()
        }
        const before = n.pump.counters.adopted
        body(tt, engine)
        tt.test('the native engine carried sessions of these tests', async (t) => {
          t.ok(n.pump.counters.adopted > before, `${n.pump.counters.adopted - before} sessions handed to the pump`)
        })
      } else body(tt, engine)
      tt.end()
    })
  }
}

// Config builders for health tests (the shapes of src/config/types.ts, with
// test-friendly defaults: short intervals, tcp checks, passive off).
import type { BackendConfig, HealthConfig, PassiveConfig, PoolConfig } from '../../src/config/types.ts'

export function backendCfg(port: number, over: Partial<BackendConfig> = {}): BackendConfig {
  return { id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1, backup: false, maxconn: 0, sendProxy: 'none', agent: null, ...over }
}

export function healthCfg(over: Partial<HealthConfig> = {}): HealthConfig {
  return {
    type: 'tcp',
    intervalMs: 100,
    fastIntervalMs: 50,
    timeoutMs: 200,
    fall: 3,
    rise: 2,
    jitter: 0,
    http: { method: 'GET', path: '/healthz', host: null, expectStatus: [200, 399] },
    connectTarget: null,
    ...over,
  }
}

export function passiveCfg(over: Partial<PassiveConfig> = {}): PassiveConfig {
  return { consecutive: 0, baseEjectionMs: 1000, maxEjectionMs: 10_000, maxEjectionPercent: 50, ...over }
}

export function poolCfg(
  name: string,
  backends: readonly BackendConfig[],
  health: HealthConfig = healthCfg(),
  passive: PassiveConfig = passiveCfg(),
): PoolConfig {
  return {
    name,
    policy: 'round-robin',
    hashKey: 'src-ip',
    balanceFactor: 0,
    maglevTableSize: 65537,
    p2cLatency: false,
    observe: 'none',
    observe407: false,
    observeWindowMs: 30_000,
    weighBy: 'none',
    retries: 1,
    slowstartMs: 0,
    sendProxy: 'none',
    retryBudget: null,
    maxQueue: 0,
    abortOnClose: false,
    backends,
    health,
    passive,
  }
}

// The one table of active health-check kinds (`pools[].health.type`): each
// name with the traits the rest of l4lb branches on. The config type, the
// schema's list, docs and rules, the limits' probe rate, the checker and the
// probe registry (src/health/probes/registry.ts, whose type requires one probe
// per active kind) derive from it. A new kind is its probe file, one row here,
// one entry in the probe registry and its tests.
//
// It lives in src/config, not src/health: health imports config's types, so
// config must not import health.

export interface CheckKindTraits {
  /** Dials the backend on an interval; false = always up, never dialled (no probe). */
  readonly active: boolean
  /** A health key that must be set (non-null) for this kind, or null. */
  readonly requires: 'connect.target' | null
  /** One phrase for docs/configuration.md: when a backend passes. */
  readonly doc: string
}

export const CHECK_KINDS = {
  none: { active: false, requires: null, doc: 'always up, never dialled' },
  tcp: { active: true, requires: null, doc: 'a TCP connect succeeds' },
  http: { active: true, requires: null, doc: 'an HTTP request on the backend port gets a status in `http.expect-status`' },
  connect: { active: true, requires: 'connect.target', doc: 'an HTTP CONNECT through the backend to `connect.target` gets a 2xx' },
} as const satisfies Readonly<Record<string, CheckKindTraits>>

export type HealthCheckType = keyof typeof CHECK_KINDS

/** The kinds that dial (have a probe). */
export type ActiveCheckType = { [K in HealthCheckType]: (typeof CHECK_KINDS)[K]['active'] extends true ? K : never }[HealthCheckType]

/** Every kind, in table order. */
export const CHECK_KIND_NAMES: readonly HealthCheckType[] = Object.freeze(Object.keys(CHECK_KINDS) as HealthCheckType[])

/** True when `type` is a kind that dials; false for `none` and for a string that is no kind. */
export function isActiveCheck(type: string): type is ActiveCheckType {
  return Object.hasOwn(CHECK_KINDS, type) && CHECK_KINDS[type as HealthCheckType].active
}

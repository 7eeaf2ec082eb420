// Every metric name l4lb exports, declared once (docs/metrics.md describes
// each). Prometheus conventions: `l4lb_` prefix, base units (seconds, bytes),
// `_total` on counters. Labels: `pool` + `backend` on backend series,
// `listener` on listener series, `worker` on worker series, `state` on
// l4lb_backend_state. Values are summed across workers by the primary.

export interface MetricName {
  readonly name: string
  readonly type: 'counter' | 'gauge'
  readonly help: string
  readonly labels: readonly string[]
}

const BACKEND = ['pool', 'backend'] as const

export const METRICS = {
  backendActive: {
    name: 'l4lb_backend_active_connections',
    type: 'gauge',
    help: 'Open connections to the backend, all workers.',
    labels: BACKEND,
  },
  backendConnections: {
    name: 'l4lb_backend_connections_total',
    type: 'counter',
    help: 'Connections established to the backend.',
    labels: BACKEND,
  },
  backendConnectFailures: {
    name: 'l4lb_backend_connect_failures_total',
    type: 'counter',
    help: 'Connect attempts to the backend that failed or timed out.',
    labels: BACKEND,
  },
  backendObservedSuccess: {
    name: 'l4lb_backend_observed_success_total',
    type: 'counter',
    help: 'CONNECT answers from the backend that were 2xx (pools with observe: http-connect).',
    labels: BACKEND,
  },
  backendObservedFailures: {
    name: 'l4lb_backend_observed_failures_total',
    type: 'counter',
    help: 'CONNECT answers from the backend that were 5xx (407 with observe-407) or did not come in time (pools with observe: http-connect).',
    labels: BACKEND,
  },
  backendObservedSuccessRatio: {
    name: 'l4lb_backend_observed_success_ratio',
    type: 'gauge',
    help: 'Share of the backend\'s CONNECT answers that were 2xx over its pool\'s observe-window, 0..1 (pools with observe: http-connect); no sample while the window holds no answer.',
    labels: BACKEND,
  },
  backendObservedWindowSuccess: {
    name: 'l4lb_backend_observed_window_success',
    type: 'gauge',
    help: 'CONNECT answers from the backend that were 2xx within its pool\'s observe-window (pools with observe: http-connect).',
    labels: BACKEND,
  },
  backendObservedWindowFailures: {
    name: 'l4lb_backend_observed_window_failures',
    type: 'gauge',
    help: 'CONNECT answers from the backend that failed (5xx, 407 with observe-407, no answer in time) within its pool\'s observe-window (pools with observe: http-connect).',
    labels: BACKEND,
  },
  backendBytesReceived: {
    name: 'l4lb_backend_bytes_received_total',
    type: 'counter',
    help: 'Bytes read from the backend (towards clients).',
    labels: BACKEND,
  },
  backendBytesSent: {
    name: 'l4lb_backend_bytes_sent_total',
    type: 'counter',
    help: 'Bytes written to the backend (from clients).',
    labels: BACKEND,
  },
  backendState: {
    name: 'l4lb_backend_state',
    type: 'gauge',
    help: 'Effective backend state: 1 for the current state, 0 for the others.',
    labels: [...BACKEND, 'state'],
  },
  backendCheckDuration: {
    name: 'l4lb_backend_check_duration_seconds',
    type: 'gauge',
    help: 'Duration of the last active health check of the backend.',
    labels: BACKEND,
  },
  backendAgentWeightPercent: {
    name: 'l4lb_backend_agent_weight_percent',
    type: 'gauge',
    help: 'Weight percentage the backend\'s agent reported (100 before it sent one); only backends with an agent.',
    labels: BACKEND,
  },
  backendAgentPolls: {
    name: 'l4lb_backend_agent_polls_total',
    type: 'counter',
    help: 'Agent-check polls of the backend\'s agent that finished, applied or ignored.',
    labels: BACKEND,
  },
  backendAgentIgnored: {
    name: 'l4lb_backend_agent_ignored_total',
    type: 'counter',
    help: 'Agent-check polls ignored (no answer, timeout, closed before a line end, line too long, no known word): the backend kept its agent state.',
    labels: BACKEND,
  },
  listenerAccepted: {
    name: 'l4lb_listener_accepted_total',
    type: 'counter',
    help: 'Client connections accepted by the listener.',
    labels: ['listener'],
  },
  listenerRejected: {
    name: 'l4lb_listener_rejected_total',
    type: 'counter',
    help: 'Client connections refused by the listener (maxconn reached, no backend available).',
    labels: ['listener'],
  },
  listenerProxyErrors: {
    name: 'l4lb_listener_proxy_errors_total',
    type: 'counter',
    help: 'Client connections dropped for their PROXY protocol header (untrusted source, malformed, incomplete or late).',
    labels: ['listener'],
  },
  listenerActive: {
    name: 'l4lb_listener_active_connections',
    type: 'gauge',
    help: 'Open client connections on the listener, all workers.',
    labels: ['listener'],
  },
  poolRetries: {
    name: 'l4lb_pool_retries_total',
    type: 'counter',
    help: 'Failed connects retried on another backend of the pool.',
    labels: ['pool'],
  },
  poolRetryOverflow: {
    name: 'l4lb_pool_retry_overflow_total',
    type: 'counter',
    help: 'Failed connects not retried because the pool\'s retry budget was spent (retry-budget); the client was reset (connect-failed).',
    labels: ['pool'],
  },
  poolQueueLength: {
    name: 'l4lb_pool_queue_length',
    type: 'gauge',
    help: 'Clients waiting in the pool\'s queue for a backend slot (max-queue), all workers.',
    labels: ['pool'],
  },
  poolQueueDequeued: {
    name: 'l4lb_pool_queue_dequeued_total',
    type: 'counter',
    help: 'Clients that left the pool\'s queue for a backend.',
    labels: ['pool'],
  },
  poolQueueWait: {
    name: 'l4lb_pool_queue_wait_seconds_total',
    type: 'counter',
    help: 'Time clients waited in the pool\'s queue (those dequeued and those timed out).',
    labels: ['pool'],
  },
  poolQueueTimeouts: {
    name: 'l4lb_pool_queue_timeouts_total',
    type: 'counter',
    help: 'Clients reset after waiting timeouts.queue in the pool\'s queue (queue-timeout).',
    labels: ['pool'],
  },
  poolQueueAborted: {
    name: 'l4lb_pool_queue_aborted_total',
    type: 'counter',
    help: 'Clients that closed while waiting in the pool\'s queue and left it (pools[].abort-on-close; client-closed-early).',
    labels: ['pool'],
  },
  poolQueueRefused: {
    name: 'l4lb_pool_queue_refused_total',
    type: 'counter',
    help: 'Clients reset at once because the pool\'s queue was full (no-backend).',
    labels: ['pool'],
  },
  workerRestarts: {
    name: 'l4lb_worker_restarts_total',
    type: 'counter',
    help: 'Times the worker slot was replaced after its process died.',
    labels: ['worker'],
  },
  workerUp: {
    name: 'l4lb_worker_up',
    type: 'gauge',
    help: '1 when the worker process is running and reporting, else 0.',
    labels: ['worker'],
  },
  workerResidentMemory: {
    name: 'l4lb_worker_resident_memory_bytes',
    type: 'gauge',
    help: 'Resident set size last reported by the worker.',
    labels: ['worker'],
  },
  workerCpuSeconds: {
    name: 'l4lb_worker_cpu_seconds_total',
    type: 'counter',
    help: 'User plus system CPU time last reported by the worker.',
    labels: ['worker'],
  },
  workerNativeSessions: {
    name: 'l4lb_worker_native_sessions',
    type: 'gauge',
    help: 'Connections the worker\'s native engine carries now (0 on the JavaScript engine).',
    labels: ['worker'],
  },
  workerNativeHandoffs: {
    name: 'l4lb_worker_native_handoffs_total',
    type: 'counter',
    help: 'Established connections the worker handed to its native engine.',
    labels: ['worker'],
  },
  workerNativeConnects: {
    name: 'l4lb_worker_native_connects_total',
    type: 'counter',
    help: 'Of the hand-offs, connections whose backend the native engine connected (stage 2: pools of IP literals); the rest were connected by JavaScript first.',
    labels: ['worker'],
  },
  workerNativeFallbacks: {
    name: 'l4lb_worker_native_fallbacks_total',
    type: 'counter',
    help: 'Connections the native engine could not take (out of descriptors or slots, addon error): served by JavaScript instead.',
    labels: ['worker'],
  },
  workerNativeAccepts: {
    name: 'l4lb_worker_native_accepts_total',
    type: 'counter',
    help: 'Client connections the worker\'s native engine accepted itself (stage 3: plain listeners whose pool it connects); no Node socket was made for them.',
    labels: ['worker'],
  },
  workerNativeAcceptBatches: {
    name: 'l4lb_worker_native_accept_batches_total',
    type: 'counter',
    help: 'Crossings from JavaScript to the native engine that answered natively accepted clients: one per batch of accepts, not one per client.',
    labels: ['worker'],
  },
  healthSnapshotVersion: {
    name: 'l4lb_health_snapshot_version',
    type: 'gauge',
    help: 'Version of the last health snapshot the primary published to workers.',
    labels: [],
  },
  configReloads: {
    name: 'l4lb_config_reloads_total',
    type: 'counter',
    help: 'Configuration reloads applied.',
    labels: [],
  },
  configReloadFailures: {
    name: 'l4lb_config_reload_failures_total',
    type: 'counter',
    help: 'Configuration reloads rejected (the previous config kept serving).',
    labels: [],
  },
  fleetRole: {
    name: 'l4lb_fleet_role',
    type: 'gauge',
    help: 'Fleet role of this node: 1 for the current role (leader, follower, standalone), 0 for the others; no series on a node alone.',
    labels: ['role'],
  },
  fleetLeaderTerm: {
    name: 'l4lb_fleet_leader_term',
    type: 'gauge',
    help: 'Term (election key create revision) of the health leader whose results this node takes or writes.',
    labels: [],
  },
  fleetConfigRevision: {
    name: 'l4lb_fleet_config_revision',
    type: 'gauge',
    help: 'Store revision of the fleet config in force on this node.',
    labels: [],
  },
  fleetConfigRejected: {
    name: 'l4lb_fleet_config_rejected',
    type: 'gauge',
    help: '1 while the newest fleet config in the store is refused by this node (the previous one keeps serving), else 0.',
    labels: [],
  },
  fleetConfigRejections: {
    name: 'l4lb_fleet_config_rejections_total',
    type: 'counter',
    help: 'Fleet config values from the store this node refused.',
    labels: [],
  },
  fleetHealthAge: {
    name: 'l4lb_fleet_health_result_age_seconds',
    type: 'gauge',
    help: 'Age of the newest health result this node took from the leader (or wrote, as leader).',
    labels: [],
  },
  fleetFallbacks: {
    name: 'l4lb_fleet_fallbacks_total',
    type: 'counter',
    help: 'Times this node went back to probing for itself (leader results stale, store unreachable, leadership lost).',
    labels: [],
  },
  fleetFenced: {
    name: 'l4lb_fleet_fenced_results_total',
    type: 'counter',
    help: 'Health results ignored because they came from an older leader term.',
    labels: [],
  },
  fleetStoreUp: {
    name: 'l4lb_fleet_store_up',
    type: 'gauge',
    help: '1 when the last reads of the fleet store succeeded, else 0.',
    labels: [],
  },
} as const satisfies Record<string, MetricName>

/**
 * Prefix for prom-client's default process metrics of the primary
 * (l4lb_process_cpu_user_seconds_total, l4lb_process_resident_memory_bytes,
 * l4lb_nodejs_eventloop_lag_seconds, ...). Workers' resource use is exported
 * through the l4lb_worker_* series above.
 */
export const PROCESS_METRICS_PREFIX = 'l4lb_'

/** Default process metrics we document and test for (a subset of prom-client's). */
export const PROCESS_METRICS = [
  'l4lb_process_cpu_user_seconds_total',
  'l4lb_process_cpu_system_seconds_total',
  'l4lb_process_resident_memory_bytes',
  'l4lb_process_start_time_seconds',
  'l4lb_process_open_fds',
  'l4lb_nodejs_eventloop_lag_seconds',
  'l4lb_nodejs_heap_size_used_bytes',
] as const

export const BACKEND_STATES = ['ready', 'drain', 'maint', 'down'] as const

export const FLEET_ROLES = ['leader', 'follower', 'standalone'] as const

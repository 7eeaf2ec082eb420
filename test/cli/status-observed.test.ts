// `l4lb status` with observe http-connect: a SUCCESS column with each
// backend's rate over the window ("no data" when none came, "-" for a pool
// that does not observe); no such column when no pool observes.
import t from 'tap'
import type { BackendStatus, StatusDoc } from '../../src/admin/model.ts'
import { formatStatus } from '../../src/cli/status.ts'

const backend = (id: string, observed: BackendStatus['observed']): BackendStatus => ({
  id, host: '10.0.0.1', port: 3128, state: 'ready', adminState: 'ready', health: 'up', weight: 1, effectiveWeight: 1,
  backup: false, active: 0, total: 0, check: { result: null, at: null }, agent: null, observed,
})
const doc = (pools: StatusDoc['pools']): StatusDoc => ({
  version: 'x', pid: 1, startedAt: 0, generatedAt: 0, healthVersion: 1, appliedVersion: 1, converged: true,
  config: { path: null, loadedAt: 0, lastError: null }, listeners: [], workers: [], fleet: null, pools,
})

t.test('a SUCCESS column when a pool observes', async (t) => {
  const text = formatStatus(doc([
    { name: 'p', policy: 'p2c', backends: [backend('ok', { windowMs: 30_000, ok: 3, failed: 1, successRatio: 0.75 }), backend('quiet', { windowMs: 30_000, ok: 0, failed: 0, successRatio: null })] },
    { name: 'q', policy: 'p2c', backends: [backend('plain', null)] },
  ]))
  t.match(text, /BACKEND\s+STATE\s+WEIGHT\s+ACTIVE\s+TOTAL\s+SUCCESS\s+CHECK/)
  t.match(text, /ok\s+READY\s+1\s+0\s+0\s+75\.0% 3\/4 30s/)
  t.match(text, /quiet\s+READY\s+1\s+0\s+0\s+no data 30s/)
  t.match(text, /plain\s+READY\s+1\s+0\s+0\s+-\s/)
})

t.test('no SUCCESS column when no pool observes', async (t) => {
  const text = formatStatus(doc([{ name: 'q', policy: 'p2c', backends: [backend('plain', null)] }]))
  t.notMatch(text, /SUCCESS/)
})

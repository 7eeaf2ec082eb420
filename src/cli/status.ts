// `l4lb status [--json] [--admin HOST:PORT] [--token T]`: GET /status and
// print a compact table (listeners, then one row per backend), or the raw
// document with --json. Exit 0 when the API answered, 1 otherwise.
import type { BackendStatus, FleetStatus, StatusDoc } from '../admin/model.ts'
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, adminRequest, errorText, processIo, runCommand, type Io } from './admin-client.ts'

const USAGE = 'usage: l4lb status [--json] [--admin HOST:PORT] [--token T]'

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.]+$|^-$/.test(r[i] ?? '')))
  return all
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function age(at: number | null, now: number): string {
  if (at === null) return '-'
  const s = Math.max(0, Math.round((now - at) / 1000))
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`
}

/** One line for a fleet node: role, leader, config revision and source, fallback. */
export function fleetLine(f: FleetStatus): string {
  const leader = f.leader === null ? 'no leader yet' : f.role === 'leader' ? `term ${f.leader.term}` : `leader ${f.leader.node} (term ${f.leader.term})`
  const config = `config revision ${f.config.appliedRevision}${f.config.source === 'last-known-good' ? ' (last-known-good)' : ''}`
  const refused = f.config.lastRejected === null ? '' : `, REFUSED revision ${f.config.lastRejected.revision}`
  return `fleet node ${f.node}: ${f.role.toUpperCase()}, ${leader}, ${config}${refused}${f.fallback === null ? '' : `; probing alone: ${f.fallback}`}`
}

/** The human rendering of a status document. */
export function formatStatus(doc: StatusDoc): string {
  const now = doc.generatedAt
  const up = doc.workers.filter((w) => w.up).length
  // A SUCCESS column only when some pool observes (`!= null`: an older primary sends no `observed`).
  const observing = doc.pools.some((p) => p.backends.some((b) => b.observed != null))
  const lines = [
    `l4lb ${doc.version}  primary pid ${doc.pid}  health snapshot v${doc.healthVersion}` +
      `${doc.converged ? '' : ` (workers hold v${doc.appliedVersion})`}  ` +
      `workers ${up}/${doc.workers.length}  config ${doc.config.path ?? '(built in)'}`,
    '',
    formatTable(
      ['LISTENER', 'BIND', 'POOL', 'STATE', 'ACTIVE', 'ACCEPTED'],
      doc.listeners.map((l) => [l.name, l.bind, l.pool, l.up ? 'UP' : 'DOWN', String(l.active), String(l.acceptedTotal)]),
    ),
    '',
    formatTable(
      ['POOL', 'BACKEND', 'STATE', 'WEIGHT', 'ACTIVE', 'TOTAL', ...(observing ? ['SUCCESS'] : []), 'CHECK', 'AGE'],
      doc.pools.flatMap((p) =>
        p.backends.map((b) => {
          const r = b.check.result
          const check = r === null ? '-' : `${r.ok ? 'OK' : 'FAIL'} ${r.detail} ${r.durationMs.toFixed(1)}ms`
          const weight = b.effectiveWeight === b.weight ? String(b.weight) : `${b.effectiveWeight}/${b.weight}`
          const state = b.state.toUpperCase() + (b.backup ? ' (backup)' : '') + agentNote(b.agent)
          return [p.name, b.id, state, weight, String(b.active), String(b.total), ...(observing ? [successNote(b.observed)] : []), check, age(b.check.at, now)]
        }),
      ),
    ),
  ]
  if (doc.fleet !== null && doc.fleet !== undefined) lines.splice(1, 0, fleetLine(doc.fleet))
  const e = doc.config.lastError
  if (e !== null) {
    lines.push('', `last reload REJECTED at ${new Date(e.at).toISOString()} (previous config kept):`)
    for (const msg of e.errors) lines.push(`  ${msg}`)
  }
  return lines.join('\n')
}

export async function statusCommand(args: string[], io: Io = processIo): Promise<number> {
  return runCommand(args, { flags: ['json'] }, USAGE, io, async (p) => {
    if (p.positional.length > 0) {
      io.err(`unexpected argument ${p.positional[0]}\n${USAGE}`)
      return EXIT_USAGE
    }
    const reply = await adminRequest(p.target, 'GET', '/status')
    if (reply.status !== 200) {
      io.err(errorText(reply))
      return EXIT_FAIL
    }
    io.out(p.flags.has('json') ? JSON.stringify(reply.body, null, 2) : formatStatus(reply.body as StatusDoc))
    return EXIT_OK
  })
}

/** The SUCCESS column: "75.0% 3/4 30s", "no data 30s" (no answer in the window), "-" (its pool does not observe). */
export function successNote(o: BackendStatus['observed'] | undefined): string {
  if (o == null) return '-'
  const span = o.windowMs % 1000 === 0 ? `${o.windowMs / 1000}s` : `${o.windowMs}ms`
  return o.successRatio === null ? `no data ${span}` : `${(o.successRatio * 100).toFixed(1)}% ${o.ok}/${o.ok + o.failed} ${span}`
}

/**
 * What the backend's agent says, for the STATE column: " agent: drain 40%", " agent: up (last reply
 * ignored)", " agent: drain (via leader lb2)" when adopted from the fleet's health leader; '' without an agent.
 */
export function agentNote(a: BackendStatus['agent']): string {
  if (a === null) return ''
  const words = [...(a.down ? ['down'] : []), ...(a.admin === 'ready' ? [] : [a.admin]), ...(a.percent === null ? [] : [`${a.percent}%`])]
  const said = a.line === null ? 'no line yet' : (words.join(' ') || 'up')
  return ` agent: ${said}${a.ignored === null ? '' : ' (last reply ignored)'}${a.source === 'leader' ? ` (via leader ${a.leader})` : ''}`
}

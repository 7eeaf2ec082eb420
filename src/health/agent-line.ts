// The agent-check reply, pure: one line from a backend's agent -> what it
// asks for. Follows HAProxy's agent check (doc/configuration.txt, section 5.2
// "agent-check"; src/tcpcheck.c `tcpcheck_agent_expect_reply`):
//
// - the reply is one line, ended by the first CR or LF; a reply without one
//   (the agent closed first) is ignored (HAProxy: "Ignoring incomplete line
//   from agent"): see splitAgentLine;
// - words are separated by spaces, tabs or commas, in any order, matched
//   without regard to case; a `#` starts a free-text description;
// - health words `up`, `down`, `fail`, `stopped`; admin words `ready`,
//   `drain`, `maint`; a weight `N%` (relative to the configured weight);
//   `maxconn:N`. Of several words of one kind the last one wins;
// - a word it does not know is reported and skipped; the other words still
//   apply. A kind the line does not mention is left as it was ("parameters
//   which are not advertised by the agent are not changed").
//
// Differences from HAProxy, on purpose: `maxconn:N` is parsed but not applied
// (l4lb's maxconn is per worker, fixed by the config); `N%` must be digits
// and `%` only (HAProxy reads `75abc%` as 75%); a non-zero percentage never
// rounds a backend down to weight 0 (agentWeight).

/** Longest reply line read, in bytes; a longer one is ignored whole. */
export const MAX_AGENT_LINE = 1024

/** Largest percentage taken (HAProxy clamps at 25600% too); weights stay <= 256. */
const MAX_PERCENT = 25_600
const MAX_WEIGHT = 256

export type AgentHealth = 'up' | 'down'
export type AgentAdmin = 'ready' | 'drain' | 'maint'

/** What one line asks for; null fields were not mentioned. */
export interface AgentReply {
  /** `up`, or `down` for any of down/fail/stopped. */
  readonly health: AgentHealth | null
  /** The health word as sent (lower case): `down`, `fail`, `stopped`, `up`. */
  readonly healthWord: string | null
  readonly admin: AgentAdmin | null
  /** Weight as a percentage of the configured weight, 0..25600. */
  readonly percent: number | null
  /** `maxconn:N`, parsed and reported, never applied. */
  readonly maxconn: number | null
  /** Text after `#`, trimmed, at most MAX_AGENT_LINE chars; '' when none. */
  readonly description: string
  /** Words that were skipped, each with why (e.g. `"hello": unknown word`). */
  readonly problems: readonly string[]
}

const HEALTH: Readonly<Record<string, AgentHealth>> = { up: 'up', down: 'down', fail: 'down', stopped: 'down' }
const ADMIN: Readonly<Record<string, AgentAdmin>> = { ready: 'ready', drain: 'drain', maint: 'maint' }
const SEPARATORS = /[ \t,]+/
const shown = (w: string): string => JSON.stringify(w.length > 40 ? `${w.slice(0, 37)}...` : w)

/**
 * Parse one reply line (without its CR/LF; the caller bounds its length).
 * Never throws. A line with no known word returns all fields null and its
 * words in `problems`: nothing changes.
 */
export function parseAgentLine(line: string): AgentReply {
  const hash = line.indexOf('#')
  const words = (hash < 0 ? line : line.slice(0, hash)).split(SEPARATORS).filter((w) => w !== '')
  let health: AgentHealth | null = null
  let healthWord: string | null = null
  let admin: AgentAdmin | null = null
  let percent: number | null = null
  let maxconn: number | null = null
  const problems: string[] = []
  for (const raw of words) {
    const w = raw.toLowerCase()
    if (Object.hasOwn(HEALTH, w)) [health, healthWord] = [HEALTH[w], w]
    else if (Object.hasOwn(ADMIN, w)) admin = ADMIN[w]
    else if (/^\d+%$/.test(w)) {
      const n = Number(w.slice(0, -1))
      if (n > MAX_PERCENT) problems.push(`${shown(raw)}: weight above ${MAX_PERCENT}%`)
      else percent = n
    } else if (w.startsWith('maxconn:')) {
      if (/^maxconn:\d{1,9}$/.test(w)) maxconn = Number(w.slice(8))
      else problems.push(`${shown(raw)}: maxconn needs an integer`)
    } else if (/^\d/.test(w) && w.includes('%')) problems.push(`${shown(raw)}: weight must be digits then %`)
    else problems.push(`${shown(raw)}: unknown word`)
  }
  const description = hash < 0 ? '' : line.slice(hash + 1).trim().slice(0, MAX_AGENT_LINE)
  return { health, healthWord, admin, percent, maxconn, description, problems }
}

/** True when the reply changes nothing (no known word). */
export function isEmptyReply(r: AgentReply): boolean {
  return r.health === null && r.admin === null && r.percent === null && r.maxconn === null
}

export type LineSplit =
  | { readonly kind: 'line'; readonly line: string }
  | { readonly kind: 'more' } // no CR/LF yet, within the bound: read on
  | { readonly kind: 'too-long' } // MAX_AGENT_LINE bytes without CR/LF: give up

/**
 * The first line of `received` (bytes so far), ended by CR or LF. Only the
 * first MAX_AGENT_LINE + 1 bytes are looked at, so a caller that keeps at
 * most that many holds bounded memory whatever the agent sends.
 */
export function splitAgentLine(received: Buffer): LineSplit {
  const n = Math.min(received.length, MAX_AGENT_LINE + 1)
  for (let i = 0; i < n; i++) {
    const c = received[i]
    if (c === 0x0a || c === 0x0d) return { kind: 'line', line: received.toString('latin1', 0, i) }
  }
  return received.length > MAX_AGENT_LINE ? { kind: 'too-long' } : { kind: 'more' }
}

/**
 * Effective weight from a configured (or operator) weight and the agent's
 * percentage: round(weight × percent / 100), capped at 256; null percent =
 * weight unchanged; 0% = 0 (no new flows, as HAProxy shows DRAIN). A
 * non-zero percentage of a non-zero weight gives at least 1, so "1%" on a
 * weight-1 backend does not drain it (HAProxy's integer division would).
 */
export function agentWeight(weight: number, percent: number | null): number {
  if (percent === null) return weight
  if (percent === 0 || weight === 0) return 0
  return Math.min(MAX_WEIGHT, Math.max(1, Math.round((weight * percent) / 100)))
}

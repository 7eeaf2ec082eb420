// Shared by `l4lb status`, `l4lb reload` and `l4lb drain`: flag parsing for
// the admin target and one request helper. Flags (before or after positionals,
// `--flag value` or `--flag=value`):
//   --admin HOST:PORT   admin API address (default 127.0.0.1:9090; [v6]:port for IPv6)
//   --token T           bearer token (default: env L4LB_ADMIN_TOKEN, else none)
// Exit codes used by the commands: 0 done, 1 refused or unreachable, 2 usage.

import http from 'node:http'
import { formatHostPort } from '../net/ip.ts'

export const EXIT_OK = 0
export const EXIT_FAIL = 1
export const EXIT_USAGE = 2

export const DEFAULT_ADMIN = '127.0.0.1:9090'
const REQUEST_TIMEOUT_MS = 15_000

/** Where commands write; tests pass their own. */
export interface Io {
  out(text: string): void
  err(text: string): void
  readonly env: Readonly<Record<string, string | undefined>>
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
  err: (s) => void process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
  env: process.env,
}

export interface AdminTarget {
  readonly host: string
  readonly port: number
  readonly token: string | null
}

export interface ParsedArgs {
  readonly target: AdminTarget
  readonly flags: ReadonlySet<string> // boolean flags given, e.g. "json"
  readonly options: ReadonlyMap<string, string> // valued options other than admin/token
  readonly positional: readonly string[]
}

/** "host:port" or "[v6]:port" -> parts, or null if malformed. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s)
  if (m === null) return null
  const port = Number(m[3])
  if (port < 1 || port > 65535) return null
  return { host: m[1] ?? m[2], port }
}

/**
 * Parse `args` given the boolean `flags` and valued `options` a command knows
 * (admin and token are always known). Returns a message for the user on any
 * unknown or incomplete flag.
 */
export function parseAdminArgs(
  args: readonly string[],
  known: { flags?: readonly string[]; options?: readonly string[] },
  env: Io['env'],
): ParsedArgs | string {
  const flagNames = new Set(known.flags ?? [])
  const optionNames = new Set(['admin', 'token', ...(known.options ?? [])])
  const flags = new Set<string>()
  const options = new Map<string, string>()
  const positional: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--') {
      positional.push(...args.slice(i + 1))
      break
    }
    if (!a.startsWith('--')) {
      positional.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = a.slice(2, eq === -1 ? undefined : eq)
    if (flagNames.has(name) && eq === -1) {
      flags.add(name)
    } else if (optionNames.has(name)) {
      const value = eq === -1 ? args[++i] : a.slice(eq + 1)
      if (value === undefined || value === '') return `--${name} needs a value`
      options.set(name, value)
    } else {
      return `unknown option ${a}`
    }
  }
  const adminText = options.get('admin') ?? DEFAULT_ADMIN
  const hp = parseHostPort(adminText)
  if (hp === null) return `--admin ${adminText}: expected HOST:PORT`
  const token = options.get('token') ?? env.L4LB_ADMIN_TOKEN ?? null
  options.delete('admin')
  options.delete('token')
  return { target: { ...hp, token: token === '' ? null : token }, flags, options, positional }
}

export interface AdminReply {
  readonly status: number
  readonly body: unknown // parsed JSON, or the raw text if not JSON
}

/** Thrown when the admin API cannot be reached at all. */
export class AdminUnreachable extends Error {}

export function adminUrl(target: AdminTarget, path: string): string {
  return `http://${formatHostPort(target.host, target.port)}${path}`
}

/**
 * One request to the admin API; resolves with the status and the parsed JSON
 * body (or the raw text); rejects with AdminUnreachable on network errors and
 * after REQUEST_TIMEOUT_MS. node:http rather than fetch: fetch refuses the
 * WHATWG "bad ports" (6000, 6665-6669, 10080, ...) an admin API may use.
 */
export function adminRequest(
  target: AdminTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<AdminReply> {
  const headers: Record<string, string> = {}
  if (target.token !== null) headers.authorization = `Bearer ${target.token}`
  const payload = body === undefined ? undefined : JSON.stringify(body)
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload))
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.host, port: target.port, method, path, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', fail)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text })
        }
      })
    })
    function fail(err: Error): void {
      const code = (err as NodeJS.ErrnoException).code ?? err.message
      reject(new AdminUnreachable(`cannot reach the admin API at ${adminUrl(target, '')}: ${code}`))
    }
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: `no answer within ${REQUEST_TIMEOUT_MS} ms` })))
    req.on('error', fail)
    req.end(payload)
  })
}

/** The `error` of a `{ "error": ... }` body, else a generic line with the status. */
export function errorText(reply: AdminReply): string {
  const b = reply.body as { error?: unknown } | null
  if (reply.status === 401) return 'admin API refused the request: give the token with --token or L4LB_ADMIN_TOKEN'
  if (b !== null && typeof b === 'object' && typeof b.error === 'string') return b.error
  return `admin API answered HTTP ${reply.status}`
}

/**
 * Run `fn` with parsed args; maps usage errors to exit 2 and an unreachable
 * API to exit 1 with one line on stderr.
 */
export async function runCommand(
  args: readonly string[],
  known: { flags?: readonly string[]; options?: readonly string[] },
  usage: string,
  io: Io,
  fn: (p: ParsedArgs) => Promise<number>,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(usage)
    return EXIT_OK
  }
  const p = parseAdminArgs(args, known, io.env)
  if (typeof p === 'string') {
    io.err(`${p}\n${usage}`)
    return EXIT_USAGE
  }
  try {
    return await fn(p)
  } catch (err) {
    if (!(err instanceof AdminUnreachable)) throw err
    io.err(err.message)
    return EXIT_FAIL
  }
}

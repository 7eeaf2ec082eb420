// How log lines look on stdout: pino JSON (for machines: journald, Loki, jq) or
// a human format for a terminal (pino-pretty, with one compact sentence per
// closed connection).
//
// Choice, first that applies: the command's `--log-format` flag, the
// L4LB_LOG_FORMAT environment variable, the command's default (`run`: json,
// so production output never changes with where it runs; `demo`: auto).
// `auto` means pretty when stdout is a terminal, json otherwise. The primary
// resolves the choice and exports it as L4LB_LOG_FORMAT=json|pretty, which
// the workers it forks inherit (they share its stdout).
import { createRequire } from 'node:module'
import { TERMINATIONS, type Termination } from './errors.ts'

export const LOG_FORMATS = ['json', 'pretty', 'auto'] as const
export type LogFormatChoice = (typeof LOG_FORMATS)[number]
export type LogFormat = Exclude<LogFormatChoice, 'auto'>

/** The environment variable that carries the choice (and the resolved format to workers). */
export const LOG_FORMAT_ENV = 'L4LB_LOG_FORMAT'

export interface FormatInputs {
  readonly flag?: string // --log-format value, if given
  readonly env?: string // L4LB_LOG_FORMAT, if set
  readonly commandDefault: LogFormatChoice
  readonly isTTY: boolean // process.stdout.isTTY
}

/**
 * The format to write, or an Error naming the bad value (flag or environment
 * variable not one of json, pretty, auto). An empty env value counts as unset.
 */
export function chooseLogFormat(i: FormatInputs): LogFormat | Error {
  const pick = (v: string, from: string): LogFormatChoice | Error =>
    (LOG_FORMATS as readonly string[]).includes(v) ? (v as LogFormatChoice) : new Error(`${from} must be one of ${LOG_FORMATS.join(', ')} (got ${JSON.stringify(v)})`)
  const choice = i.flag !== undefined ? pick(i.flag, '--log-format') : i.env !== undefined && i.env !== '' ? pick(i.env, LOG_FORMAT_ENV) : i.commandDefault
  if (choice instanceof Error) return choice
  return choice === 'auto' ? (i.isTTY ? 'pretty' : 'json') : choice
}

const bytes = (n: unknown): string => {
  const v = typeof n === 'number' ? n : 0
  return v < 1024 ? `${v} B` : v < 1024 * 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${(v / 1024 / 1024).toFixed(1)} MiB`
}

/**
 * One sentence for a `connection closed` line: who, to which backend, bytes
 * each way, how long, how many tries and why it ended, e.g.
 * `127.0.0.1:51234 → proxy-b (demo/proxies) ↑78 B ↓120 B 12 ms, 1 try: CD the client closed first and the server finished`.
 * `line` is the parsed JSON object; returns null for any other line.
 */
export function connectionSentence(line: Record<string, unknown>): string | null {
  if (line.msg !== 'connection closed') return null
  const reason = line.reason as Termination | undefined
  const why = reason !== undefined && reason in TERMINATIONS ? `${TERMINATIONS[reason].flag} ${TERMINATIONS[reason].text}` : String(reason)
  const tries = typeof line.tries === 'number' ? line.tries : 0
  return `${String(line.client)} → ${line.backend === null ? '(no backend)' : String(line.backend)} (${String(line.listener)}/${String(line.pool)}) ` +
    `↑${bytes(line.bytesIn)} ↓${bytes(line.bytesOut)} ${String(line.durationMs)} ms, ${tries} ${tries === 1 ? 'try' : 'tries'}: ${why}`
}

const CONNECTION_KEYS = ['client', 'listener', 'pool', 'backend', 'tries', 'bytesIn', 'bytesOut', 'durationMs', 'reason', 'flags']

/**
 * A function turning one pino JSON line into a human line (with a newline):
 * `[HH:MM:ss.l] LEVEL (pid): component: message {other fields}`; connection
 * lines become one sentence (connectionSentence). A line that is not JSON is
 * returned as it is. `colorize`: ANSI colours for the level. pino-pretty is
 * loaded here, on first use, so JSON-only processes never load it.
 */
export function prettyLine(colorize: boolean): (line: string) => string {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
  const pretty = prettyFactory({ colorize, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname,component', messageFormat: '{if component}{component}: {end}{msg}' })
  return (line: string): string => {
    let obj: Record<string, unknown>
    try {
      obj = JSON.parse(line) as Record<string, unknown>
    } catch {
      return line
    }
    const sentence = connectionSentence(obj)
    if (sentence !== null) {
      for (const k of CONNECTION_KEYS) delete obj[k]
      obj.msg = sentence
    }
    return pretty(obj)
  }
}

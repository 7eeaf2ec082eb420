// A small reader for systemd unit files, enough to check deploy/l4lb.service:
// [Section] headers, Key=Value lines (a key may repeat), # and ; comments,
// and time spans ("45s", "1min 30s", "500ms", bare seconds).

/** Section name -> key -> every value given, in order. */
export type Unit = Map<string, Map<string, string[]>>

/** Parse unit text; throws on a line that is neither a section, a key=value nor a comment (with its line number). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map()
  let section: Map<string, string[]> | null = null
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return
    const header = /^\[([A-Za-z]+)\]$/.exec(line)
    if (header !== null) {
      section = unit.get(header[1]) ?? new Map()
      unit.set(header[1], section)
      return
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line)
    if (kv === null || section === null) throw new Error(`line ${i + 1}: not a [Section] or Key=Value: ${raw}`)
    const values = section.get(kv[1]) ?? []
    values.push(kv[2].trim())
    section.set(kv[1], values)
  })
  return unit
}

/** The last value of `key` in `section` (systemd: the last assignment wins), or undefined. */
export function lastValue(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1)
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000 }

/** systemd time span -> milliseconds; throws on anything else ("infinity" included). */
export function timeSpanMs(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000
  let total = 0
  const rest = text.replace(/(\d+)\s*(ms|sec|s|min|m|hr|h)\b\s*/g, (_, n: string, u: string) => {
    total += Number(n) * UNITS_MS[u]
    return ''
  })
  if (rest !== '' || total === 0) throw new Error(`not a time span: ${text}`)
  return total
}

// Issue 6: fuzz the PROXY protocol parser over 1,000,000 generated inputs.
// fast-check drives 100 seeds; each seed feeds a fast xorshift generator that
// makes a batch of 10,000 inputs of every class: valid v1/v2 (with payload),
// truncated, oversized, wrong signatures, mutated v1/v2 and random bytes.
// Every input is parsed whole and again in random chunks (often 1 byte).
// Properties: nothing throws; both parses agree; need-more always consumed
// everything and is bounded by the cap; valid inputs give back the generated
// header and payload; mutated ones agree with simple reference decoders.
import net from 'node:net'
import t from 'tap'
import fc from 'fast-check'
import { formatIPv4, formatIPv6, parseIPv6 } from '../../src/net/ip.ts'
import { ProxyParser } from '../../src/net/proxy-protocol/parser.ts'
import type { ParseResult, ProxyHeader } from '../../src/net/proxy-protocol/types.ts'
import { MAX_HEADER_LENGTH, V2_SIGNATURE } from '../../src/net/proxy-protocol/types.ts'

const SEEDS = 100
const BATCH = 10_000
type Rand = (n: number) => number // integer in [0, n)

function xorshift(seed: number): Rand {
  let s = seed | 0 || 0x9e3779b9
  return (n) => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) % n
  }
}

/** An input and what must come of it: a header (then `after` follows it), a code, or anything consistent. */
interface Case {
  bytes: Buffer
  kind: string
  header?: Partial<ProxyHeader>
  headerLength?: number
  code?: string
  truncated?: boolean
}

const NULLS = { srcAddress: null, srcPort: null, dstAddress: null, dstPort: null } as const
const groups = new Uint16Array(8)

function v4(r: Rand): [string, string] {
  const v = r(256) * 16777216 + r(16777216)
  const text = formatIPv4(v)
  return [text, text]
}

function v6(r: Rand): [string, string] {
  for (let i = 0; i < 8; i++) groups[i] = r(3) === 0 ? r(65536) : r(4) === 0 ? 0xffff : 0
  if (r(8) === 0) groups.fill(0, 0, 5)
  const canon = formatIPv6(groups)
  const form = r(4)
  const text = form === 0 ? canon : form === 1 ? canon.toUpperCase()
    : Array.from(groups, (g) => g.toString(16).padStart(form === 2 ? 4 : 1, '0')).join(':')
  return [text, canon]
}

function junk(r: Rand, n: number, avoid: (b: number) => boolean): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) {
    let x = r(256)
    while (avoid(x)) x = r(256)
    b[i] = x
  }
  return b
}

function validV1(r: Rand): Case {
  const kind = r(5)
  if (kind === 0) {
    const pad = r(3) === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from(' '), junk(r, r(92), (b) => b === 10)])
    const bytes = Buffer.concat([Buffer.from('PROXY UNKNOWN'), pad, Buffer.from('\r\n')])
    return { bytes, kind: 'v1', header: { version: 1, command: 'PROXY', family: 'UNKNOWN', ...NULLS }, headerLength: bytes.length }
  }
  const six = kind > 2
  const [a, ac] = six ? v6(r) : v4(r)
  const [b, bc] = six ? v6(r) : v4(r)
  const sp = r(65536)
  const dp = r(65536)
  const bytes = Buffer.from(`PROXY TCP${six ? 6 : 4} ${a} ${b} ${sp} ${dp}\r\n`, 'latin1')
  const header = { version: 1, command: 'PROXY', family: six ? 'TCP6' : 'TCP4', srcAddress: ac, dstAddress: bc, srcPort: sp, dstPort: dp } as const
  return { bytes, kind: 'v1', header, headerLength: bytes.length }
}

/** Families accepted without an address (issue 9): UNSPEC, UDP, UNIX and the mixed valid combinations. */
const FALLBACK_FAMILIES = [0x00, 0x01, 0x02, 0x10, 0x12, 0x20, 0x22, 0x30, 0x31, 0x32]

/** Address block size of a valid PROXY family byte (0 when either nibble is UNSPEC). */
function blockOf(fam: number): number {
  if ((fam & 15) === 0) return 0
  return [0, 12, 36, 216][fam >> 4]
}

function validV2(r: Rand): Case {
  const pick = r(7)
  const local = pick === 0
  const fam = local ? r(256) : pick === 1 ? 0x00 : pick === 2 ? FALLBACK_FAMILIES[r(FALLBACK_FAMILIES.length)] : pick < 5 ? 0x11 : 0x21
  const block = local ? 0 : blockOf(fam)
  const parts: Buffer[] = [V2_SIGNATURE, Buffer.from([local ? 0x20 : 0x21, fam, 0, 0]), junk(r, block, () => false)]
  let length = block
  const tlvs = r(4) === 0 ? r(4) : 0
  for (let i = 0; i < tlvs; i++) {
    const n = r(10) === 0 ? r(600) : r(40)
    if (length + 3 + n > 2048) break
    parts.push(Buffer.from([r(256), n >> 8, n & 255]), junk(r, n, () => false))
    length += 3 + n
  }
  if (local || block === 0) {
    const extra = r(20)
    parts.push(junk(r, extra, () => false))
    length += extra
  }
  const bytes = Buffer.concat(parts)
  bytes.writeUInt16BE(length, 14)
  let header: Partial<ProxyHeader> = { version: 2, command: local ? 'LOCAL' : 'PROXY', family: 'UNKNOWN', ...NULLS }
  if (!local && fam === 0x11) {
    header = { ...header, family: 'TCP4', srcAddress: formatIPv4(bytes.readUInt32BE(16)), dstAddress: formatIPv4(bytes.readUInt32BE(20)),
      srcPort: bytes.readUInt16BE(24), dstPort: bytes.readUInt16BE(26) }
  } else if (!local && fam === 0x21) {
    const g = (at: number): string => formatIPv6(Uint16Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(at + 2 * i)))
    header = { ...header, family: 'TCP6', srcAddress: g(16), dstAddress: g(32), srcPort: bytes.readUInt16BE(48), dstPort: bytes.readUInt16BE(50) }
  }
  return { bytes, kind: 'v2', header, headerLength: bytes.length }
}

/** Reference decision for a v1 input: 'accept', 'reject' or 'open' (no LF yet, under the limit). */
function refV1(bytes: Buffer): 'accept' | 'reject' | 'open' {
  const lf = bytes.indexOf(10)
  if (lf < 0 || lf > 106) return bytes.length >= 107 ? 'reject' : 'open'
  if (bytes[lf - 1] !== 13) return 'reject'
  const line = bytes.toString('latin1', 0, lf - 1)
  if (/^PROXY UNKNOWN( [^]*)?$/.test(line)) return 'accept' // anything but LF is ignored, a lone CR too
  if (line.includes('\r')) return 'reject'
  const m = /^PROXY TCP([46]) ([^ ]+) ([^ ]+) (0|[1-9][0-9]{0,4}) (0|[1-9][0-9]{0,4})$/.exec(line)
  if (m === null || Number(m[4]) > 65535 || Number(m[5]) > 65535) return 'reject'
  const ok = m[1] === '4' ? (s: string) => net.isIPv4(s) : (s: string) => net.isIPv6(s) && !s.includes('%')
  return ok(m[2]) && ok(m[3]) ? 'accept' : 'reject'
}

/** Reference outcome for a v2 input whose 12-byte signature is intact: a code, 'done' or 'open'. */
function refV2(b: Buffer): string {
  if (b.length < 13) return 'open'
  if (b[12] >> 4 !== 2 || (b[12] & 15) > 1) return 'PROXY_BAD_HEADER'
  if (b.length < 14) return 'open'
  const local = (b[12] & 15) === 0
  const fam = b[13]
  if (!local && (fam >> 4 > 3 || (fam & 15) > 2)) return 'PROXY_BAD_HEADER'
  if (b.length < 15) return b[14] > 8 ? 'PROXY_TOO_LONG' : 'open'
  const len = b.readUInt16BE(14)
  if (len > 2048) return 'PROXY_TOO_LONG'
  const block = local ? 0 : blockOf(fam)
  if (len < block) return 'PROXY_BAD_HEADER'
  if (b.length < 16 + len) return 'open'
  if (block > 0) {
    let p = 16 + block
    while (p < 16 + len) p = p + 3 > 16 + len ? Infinity : p + 3 + b.readUInt16BE(p + 1)
    if (p !== 16 + len) return 'PROXY_BAD_HEADER'
  }
  return 'done'
}

const PORTS = ['0', '1', '65535', '65536', '99999', '00', '01', '080', '6553', '655350', '', '-1', '1a', '+1']
const ADDRS = ['0.0.0.0', '255.255.255.255', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '::', '::1', '1::2::3',
  '::ffff:1.2.3.4', '::ffff:01.2.3.4', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', 'fe80::1%1', '12345::', ':1', '1:', 'g::', '']
const PROTOS = ['TCP4', 'TCP4', 'TCP6', 'TCP6', 'TCP5', 'UNKNOWN', 'tcp4', 'TCP']

function pickOf(r: Rand, list: string[]): string {
  return list[r(list.length)]
}

/** A v1 line assembled from valid, boundary and broken fields. */
function fieldsV1(r: Rand): Case {
  const port = (): string => (r(3) === 0 ? pickOf(r, PORTS) : r(3) === 0 ? String(r(1000000)) : String(r(65536)))
  const addr = (): string => {
    const k = r(5)
    if (k === 0) return pickOf(r, ADDRS)
    if (k === 1) return `${r(300)}.${r(300)}.${r(256)}.${r(256)}`
    return k === 2 ? v6(r)[0] : v4(r)[0]
  }
  const sep = (): string => (r(30) === 0 ? pickOf(r, ['', '  ', '\t']) : ' ')
  const line = `PROXY ${pickOf(r, PROTOS)}${sep()}${addr()}${sep()}${addr()}${sep()}${port()}${sep()}${port()}${r(40) === 0 ? ' ' : ''}\r\n`
  return { bytes: Buffer.from(line, 'latin1'), kind: 'fields-v1' }
}

function makeCase(r: Rand): Case {
  const k = r(100)
  if (k < 30) return r(2) === 0 ? validV1(r) : validV2(r)
  if (k < 40) {
    const c = r(2) === 0 ? validV1(r) : validV2(r)
    return { bytes: c.bytes.subarray(0, r(c.bytes.length)), kind: 'truncated', truncated: true }
  }
  if (k < 45) {
    if (r(2) === 0) return { bytes: Buffer.concat([Buffer.from('PROXY UNKNOWN '), junk(r, 93 + r(300), (b) => b === 13 || b === 10)]), kind: 'oversized', code: 'PROXY_TOO_LONG' }
    const c = validV2(r)
    c.bytes.writeUInt16BE(2049 + r(63487), 14)
    return { bytes: c.bytes, kind: 'oversized', code: 'PROXY_TOO_LONG' }
  }
  if (k < 55) {
    const c = r(2) === 0 ? validV1(r) : validV2(r)
    const at = r(c.bytes[0] === 0x50 ? 6 : 12)
    c.bytes[at] = (c.bytes[at] + 1 + r(255)) & 255
    return { bytes: c.bytes, kind: 'signature', code: 'PROXY_BAD_SIGNATURE' }
  }
  if (k < 80) {
    const v2 = k >= 70
    const c = v2 ? validV2(r) : validV1(r)
    const alphabet = Buffer.from('0123456789abcdefABCDEF.: \r\nPTU%')
    for (let n = 1 + r(3); n > 0; n--) {
      const at = (v2 ? 12 : 6) + r(c.bytes.length - (v2 ? 12 : 6))
      c.bytes[at] = v2 || r(4) === 0 ? r(256) : alphabet[r(alphabet.length)]
    }
    return { bytes: c.bytes, kind: v2 ? 'mutated-v2' : 'mutated-v1' }
  }
  if (k < 90) return fieldsV1(r)
  const prefixes = ['', '', 'P', 'PROXY ', 'PROXY TCP4 ', '\r\n\r\n\0\r\nQUIT\n']
  return { bytes: Buffer.concat([Buffer.from(prefixes[r(prefixes.length)], 'latin1'), junk(r, r(140), () => false)]), kind: 'random' }
}

function feed(bytes: Buffer, r: Rand): { res: ParseResult; after: Buffer | null } {
  const p = new ProxyParser()
  const mode = r(4)
  let res: ParseResult = p.push(bytes.subarray(0, 0))
  for (let at = 0; at < bytes.length; ) {
    const next = Math.min(bytes.length, at + (mode === 0 ? 1 : 1 + r(mode === 1 ? 8 : 64)))
    res = p.push(bytes.subarray(at, next))
    at = next
    if (res.status === 'done') return { res, after: Buffer.concat([res.rest, bytes.subarray(at)]) }
    if (res.status === 'error') break
  }
  return { res, after: null }
}

function sameResult(a: ParseResult, b: ParseResult): boolean {
  if (a.status === 'error') return b.status === 'error' && a.code === b.code && a.reason === b.reason
  if (a.status === 'need-more') return b.status === 'need-more' && a.consumed === b.consumed && a.atMost === b.atMost
  return b.status === 'done' && JSON.stringify(a.header) === JSON.stringify(b.header)
}

function headerIs(h: ProxyHeader, want: Partial<ProxyHeader>): boolean {
  for (const k of Object.keys(want) as (keyof ProxyHeader)[]) if (h[k] !== want[k]) return false
  return true
}

const tally: Record<string, number> = {}
function check(c: Case, r: Rand): string | null {
  const payload = junk(r, r(48), () => false)
  const bytes = c.truncated ? c.bytes : Buffer.concat([c.bytes, payload])
  const whole = new ProxyParser().push(bytes)
  const chunked = feed(bytes, r)
  if (!sameResult(whole, chunked.res)) return 'whole and chunked parses differ'
  const outcome = `${c.kind}:${whole.status === 'error' ? whole.code : whole.status}`
  tally[outcome] = (tally[outcome] ?? 0) + 1
  if (whole.status === 'need-more') {
    if (whole.consumed !== bytes.length || whole.consumed + whole.atMost > MAX_HEADER_LENGTH || whole.atMost < 1) return 'unbounded need-more'
  } else if (whole.status === 'error') {
    if (!/at byte \d+|within 107 bytes/.test(whole.reason)) return 'reason without offset'
  } else {
    const after = bytes.subarray(bytes.length - whole.rest.length)
    if (chunked.after === null || !chunked.after.equals(after)) return 'bytes after the header differ'
  }
  if (c.header) {
    if (whole.status !== 'done' || !headerIs(whole.header, c.header)) return 'valid header not parsed back'
    if (!whole.rest.equals(payload)) return 'payload not returned as rest'
  }
  if (c.truncated) {
    if (whole.status !== 'need-more') return 'a prefix of a valid header did not ask for more'
    const p = new ProxyParser()
    p.push(bytes)
    const end = p.end()
    if (end.status !== 'error' || end.code !== 'PROXY_TRUNCATED') return 'end() mid-header is not PROXY_TRUNCATED'
  }
  if (c.code && (whole.status !== 'error' || whole.code !== c.code)) return `expected ${c.code}`
  if (c.kind === 'mutated-v1' || c.kind === 'fields-v1') {
    const ref = refV1(bytes)
    if (ref === 'accept' && whole.status !== 'done') return `v1 reference accepts: ${JSON.stringify(whole)}`
    if (ref === 'reject' && whole.status !== 'error') return 'v1 reference rejects'
    if (whole.status === 'done' && ref !== 'accept') return 'v1 reference does not accept'
    if (whole.status === 'done' && whole.header.family === 'TCP6' && !parseIPv6(whole.header.srcAddress as string, groups)) return 'bad TCP6 address'
  }
  if (c.kind === 'mutated-v2') {
    const ref = refV2(bytes)
    const got = whole.status === 'error' ? whole.code : whole.status === 'done' ? 'done' : 'open'
    if (ref !== got) return `v2 reference says ${ref}, parser ${got}`
  }
  return null
}

t.test(`parser fuzz: ${SEEDS * BATCH} inputs`, async (t) => {
  const started = process.hrtime.bigint()
  let count = 0
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
      const r = xorshift(seed)
      for (let i = 0; i < BATCH; i++) {
        const c = makeCase(r)
        const problem = check(c, r)
        count++
        if (problem !== null) throw new Error(`${problem}; case ${c.kind} #${i} bytes ${c.bytes.toString('hex')}`)
      }
      return true
    }),
    { numRuns: SEEDS },
  )
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  t.equal(count, SEEDS * BATCH, 'all inputs checked')
  for (const kind of ['v1:done', 'v2:done', 'truncated:need-more', 'oversized:PROXY_TOO_LONG', 'signature:PROXY_BAD_SIGNATURE']) {
    t.ok((tally[kind] ?? 0) > 10_000, `class ${kind} was exercised (${tally[kind] ?? 0})`)
  }
  // rarer outcomes get a loose floor; PROXY_UNSUPPORTED is retired and must never appear
  for (const kind of ['fields-v1:done', 'fields-v1:PROXY_BAD_HEADER', 'mutated-v1:done', 'mutated-v1:PROXY_BAD_HEADER', 'mutated-v2:PROXY_BAD_HEADER', 'mutated-v2:done', 'random:PROXY_BAD_SIGNATURE']) {
    t.ok((tally[kind] ?? 0) > 25, `class ${kind} was exercised (${tally[kind] ?? 0})`)
  }
  t.same(Object.keys(tally).filter((k) => k.endsWith('PROXY_UNSUPPORTED')), [], 'no input is refused as PROXY_UNSUPPORTED')
  t.comment(`fuzzed ${count} inputs (each parsed whole and chunked) in ${(ms / 1000).toFixed(1)} s`)
  t.comment(JSON.stringify(tally))
})

// The last-known-good fleet config: the shared part this node last applied,
// kept on disk so it can start when the store cannot be read. Written
// atomically (temp file + rename); the first line records key and revision.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export interface LastKnownGood {
  readonly key: string
  readonly revision: number
  readonly text: string // the shared part as read from the store
}

const HEAD = /^# l4lb fleet last-known-good: key (\S+) revision (\d+)\n/

/** Write `lkg` to `path` (parent folders made). Rejects with the fs error. */
export async function writeLastKnownGood(path: string, lkg: LastKnownGood): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, `# l4lb fleet last-known-good: key ${lkg.key} revision ${lkg.revision}\n${lkg.text}`, { mode: 0o600 })
  await rename(tmp, path)
}

/** The file at `path`, or null when absent, unreadable or not one of ours. */
export async function readLastKnownGood(path: string): Promise<LastKnownGood | null> {
  const text = await readFile(path, 'utf8').catch(() => null)
  if (text === null) return null
  const m = HEAD.exec(text)
  if (m === null) return null
  return { key: m[1], revision: Number(m[2]), text: text.slice(m[0].length) }
}

// A reader for the few Dockerfile forms deploy/Dockerfile uses: one
// instruction per logical line (backslash continuations joined), # comments,
// exec-form (JSON array) ENTRYPOINT/CMD.

export interface Instruction {
  readonly op: string // upper case: FROM, ARG, RUN, COPY, USER, ...
  readonly args: string // the rest of the line, continuations joined
}

/** Instructions in order; throws on an exec form that is not a JSON array of strings. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' '
      continue
    }
    const full = (pending + line).trim()
    pending = ''
    const m = /^(\S+)\s*(.*)$/.exec(full)
    if (m !== null) out.push({ op: m[1].toUpperCase(), args: m[2] })
  }
  return out
}

/** The exec-form argv of ENTRYPOINT/CMD (`["a", "b"]`); throws on the shell form. */
export function execForm(i: Instruction): string[] {
  const v = JSON.parse(i.args) as unknown
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${i.op} is not in exec form: ${i.args}`)
  return v
}

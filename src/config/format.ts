// Rendering of config errors for people: one per line, `path: message`, in
// the order they were found (document order). The path is omitted for errors
// about the whole file (empty file, file not found names the file as path).
import type { ConfigError } from './types.ts'

/** One error per line: `listeners[0].bind: "1.2.3:80" is not host:port`. */
export function formatErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('\n')
}

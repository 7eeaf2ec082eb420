// Start an admin server on 127.0.0.1 port 0 around a model, with a pino logger
// that records lines, and close it in teardown (even when the test fails).
import pino, { type Logger } from 'pino'
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../src/admin/server.ts'
import type { AdminModel } from '../../src/admin/model.ts'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestServer {
  readonly server: AdminServer
  readonly base: string // http://127.0.0.1:PORT
  readonly logs: Record<string, unknown>[]
  readonly log: Logger
}

export async function startTestServer(
  t: Teardown,
  model: AdminModel,
  token: string | null = null,
  opts: AdminServerOptions = {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) })
  const server = await startAdminServer(
    { enabled: true, bind: { host: '127.0.0.1', port: 0 }, token },
    model,
    log,
    { processMetrics: false, ...opts },
  )
  t.teardown(() => server.close())
  return { server, base: `http://127.0.0.1:${server.port}`, logs, log }
}

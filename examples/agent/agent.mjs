#!/usr/bin/env node
// A tiny agent for l4lb's agent check (HAProxy's agent-check protocol): run it
// on each forward-proxy host; l4lb connects, reads one line, and gives the
// proxy a share of new flows that follows its free memory, so a proxy near
// out-of-memory gets fewer new tunnels, and none at all above a threshold.
//
//   line:  "ready <N>%"   N = available memory as a percentage of total, rounded to
//                        --step (default 10: fewer weight changes, see below), at least 1
//          "drain <N>% # memory <U>% used"   once used memory reaches --drain-at,
//          until it falls below --resume-at (hysteresis: no flapping at the edge)
//
// Plain JavaScript, no dependency, Node >= 18, so it runs on a proxy host
// without l4lb installed. Memory comes from /proc/meminfo (MemAvailable,
// MemTotal), else os.freemem()/os.totalmem(). Whatever l4lb sends
// (`agent.send`) is ignored; each connection gets one line and is closed.
//
// Each weight change makes l4lb republish and every worker rebuild the pool's
// picker; with maglev or ring it also moves some keys. --step keeps a host
// whose free memory wobbles by a percent from changing its weight every poll.
//
//   node agent.mjs [--port 9999] [--bind 0.0.0.0] [--drain-at 90] [--resume-at 85] [--step 10]
//   env AGENT_MEMINFO=<path>: read that file instead of /proc/meminfo (tests)
import net from 'node:net'
import os from 'node:os'
import process from 'node:process'
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const USAGE = 'usage: node agent.mjs [--port 9999] [--bind 0.0.0.0] [--drain-at 90] [--resume-at 85] [--step 10]'

/** Parse argv-style flags into options with defaults; throws on a bad value. */
export function options(argv) {
  const o = { port: 9999, bind: '0.0.0.0', drainAt: 90, resumeAt: 85, step: 10 }
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    if (!['--port', '--bind', '--drain-at', '--resume-at', '--step'].includes(flag)) throw new Error(`unknown option ${flag}`)
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`)
    const n = Number(value)
    if (flag === '--port' && Number.isInteger(n) && n >= 0 && n <= 65535) o.port = n
    else if (flag === '--bind' && value) o.bind = value
    else if (flag === '--drain-at' && n > 0 && n <= 100) o.drainAt = n
    else if (flag === '--resume-at' && n > 0 && n <= 100) o.resumeAt = n
    else if (flag === '--step' && Number.isInteger(n) && n >= 1 && n <= 100) o.step = n
    else throw new Error(`bad value for ${flag}: ${value}`)
  }
  if (o.resumeAt > o.drainAt) throw new Error('--resume-at must not be above --drain-at')
  return o
}

/** { availableBytes, totalBytes } now. */
export function memory(path = process.env.AGENT_MEMINFO ?? '/proc/meminfo') {
  try {
    const text = readFileSync(path, 'latin1')
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1])
    const available = kib('MemAvailable')
    const total = kib('MemTotal')
    if (available >= 0 && total > 0) return { availableBytes: available * 1024, totalBytes: total * 1024 }
  } catch { /* not Linux, or no such file: fall back */ }
  return { availableBytes: os.freemem(), totalBytes: os.totalmem() }
}

/** The agent line for `mem`, and whether it drains (pass it back as `draining` next time). */
export function agentLine(mem, o, draining) {
  const freePct = Math.max(0, Math.min(100, (100 * mem.availableBytes) / mem.totalBytes))
  const used = 100 - freePct
  const drain = draining ? used >= o.resumeAt : used >= o.drainAt
  const weight = Math.max(1, Math.round(freePct / o.step) * o.step)
  const line = drain ? `drain ${weight}% # memory ${Math.round(used)}% used` : `ready ${weight}%`
  return { line, drain }
}

/** Start the agent; bad flags print usage and exit 2, a runtime failure (port in use) exits 1. */
function main() {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  let o
  try {
    o = options(argv)
  } catch (err) {
    process.stderr.write(`agent: ${err.message}\n${USAGE}\n`)
    process.exit(2)
  }
  let draining = false
  const server = net.createServer((sock) => {
    sock.on('error', () => {})
    const next = agentLine(memory(), o, draining)
    draining = next.drain
    sock.end(`${next.line}\n`)
  })
  server.on('error', (err) => {
    const why = err.code === 'EADDRINUSE' ? `port ${o.port} in use on ${o.bind}`
      : err.code === 'EACCES' ? `no permission to listen on port ${o.port}`
      : err.code === 'EADDRNOTAVAIL' ? `address ${o.bind} is not on this host`
      : err.message
    process.stderr.write(`agent: ${why}\n`)
    process.exit(1)
  })
  server.listen(o.port, o.bind, () => {
    const a = server.address()
    process.stdout.write(`agent listening on ${a.address}:${a.port}\n`)
  })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)))
}

/** True when this file is the script node was started with, also through a symlink or a path with spaces. */
function isMain() {
  if (!process.argv[1]) return false
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1])
  } catch {
    return false
  }
}

if (isMain()) main()

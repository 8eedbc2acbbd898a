// The callback bench's receiver, in its own process so that it does not share an event loop
// with the load generator or mqchat. Two HTTP servers on 127.0.0.1 (two origins: receivers
// of different customers), the same handler on both:
//   POST /<tag>        answers 200 at once and records the request under <tag>
//   POST /slow/<tag>   the same, after SLOW_MS (a receiver taking 2 s per request)
//   GET  /stats/<tag>  what was recorded: {count, distinct, first, last, lagP50, lagP99, lagMax}
// The time of arrival is the machine's clock in ms (performance.timeOrigin + now(), with
// sub-ms resolution, the same clock the bench reads). Lag = arrival − the time written in the
// message text as `t=<ms>` by whoever created the event. Prints {"ports":[a,b]} when ready.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Stats } from './receiver.ts'

const SLOW_MS = 2000

interface Tally {
  count: number
  ids: Set<string>
  first: number
  last: number
  lags: number[]
}

const tallies = new Map<string, Tally>()
const clock = (): number => performance.timeOrigin + performance.now()

function tally (tag: string): Tally {
  let t = tallies.get(tag)
  if (t === undefined) {
    t = { count: 0, ids: new Set(), first: Infinity, last: 0, lags: [] }
    tallies.set(tag, t)
  }
  return t
}

function stats (tag: string): Stats {
  const t = tally(tag)
  const sorted = Float64Array.from(t.lags).sort()
  const pct = (p: number): number | null => sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
  return { count: t.count, distinct: t.ids.size, first: t.first, last: t.last, lagP50: pct(50), lagP99: pct(99), lagMax: pct(100) }
}

function handle (req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/'
  if (req.method === 'GET' && url.startsWith('/stats/')) {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(stats(url.slice('/stats/'.length))))
    return
  }
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const at = clock()
    const slow = url.startsWith('/slow/')
    const t = tally(url.slice(slow ? '/slow/'.length : 1))
    t.count++
    t.ids.add(String(req.headers['webhook-id']))
    if (at < t.first) t.first = at
    if (at > t.last) t.last = at
    try {
      const text = JSON.parse(Buffer.concat(chunks).toString('utf8')).message.message as string
      if (text.startsWith('t=')) t.lags.push(at - Number(text.slice(2)))
    } catch {}
    const done = (): void => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok') }
    if (slow) setTimeout(done, SLOW_MS)
    else done()
  })
}

const servers = [http.createServer(handle), http.createServer(handle)]
// Keep-alive connections outlive the senders' idle time (undici closes first, at 4 s).
for (const s of servers) s.keepAliveTimeout = 10_000
const ports = await Promise.all(servers.map((s) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)))))
process.stdout.write(JSON.stringify({ ports }) + '\n')

function stop (): void {
  for (const s of servers) s.closeAllConnections()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The parent holds our stdin: when it dies, so do we.
process.stdin.on('end', stop)
process.stdin.on('error', stop)
process.stdin.resume()

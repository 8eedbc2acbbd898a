// Name resolution for callbacks, with the SSRF guard inside it: every address a name
// resolves to must be public, and the connection is made to the address that was checked.
// Given to undici as the socket's `lookup`, so there is no second look-up to race.
import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { isPublicAddress } from './ssrf.ts'

export class TargetError extends Error {
  constructor (message: string, readonly code: 'FORBIDDEN_TARGET' | 'ENOTFOUND' | string) {
    super(message)
  }
}

/** A look-up that takes longer than this fails as a temporary DNS failure. */
const LOOKUP_TIMEOUT_MS = 5000

// c-ares, not dns.lookup: getaddrinfo runs on libuv's four shared threads, so one domain
// whose DNS server never answers would hold them and slow every other domain's look-ups.
// c-ares asks the servers of /etc/resolv.conf itself, on the event loop, with its own limits.
// (It does not read /etc/hosts; `localhost` is answered by name, as RFC 6761 says.)
const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 2 })

async function lookupAll (host: string): Promise<Array<{ address: string, family: number }>> {
  const name = host.toLowerCase().replace(/\.$/, '')
  if (name === 'localhost' || name.endsWith('.localhost')) return [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)])
  const addrs = [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : [])
  ]
  if (addrs.length > 0) return addrs
  const codes = [v4, v6].map((r) => r.status === 'rejected' ? (r.reason as NodeJS.ErrnoException).code : 'ENODATA')
  // No such name (or no address for it) is final; anything else (timeout, refused, SERVFAIL)
  // is a temporary failure.
  const missing = codes.every((c) => c === 'ENOTFOUND' || c === 'ENODATA')
  throw Object.assign(new Error(missing ? 'no such host' : `DNS failure (${codes[0]})`), { code: missing ? 'ENOTFOUND' : 'EAI_AGAIN' })
}

/** Resolves `host` to all its addresses; rejects if any of them is not public. */
export async function resolvePublic (host: string): Promise<Array<{ address: string, family: number }>> {
  let addrs: Array<{ address: string, family: number }>
  let timer: NodeJS.Timeout | undefined
  try {
    addrs = await Promise.race([
      lookupAll(host),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('DNS look-up timed out'), { code: 'EAI_AGAIN' })), LOOKUP_TIMEOUT_MS)
      })
    ])
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND'
    throw new TargetError(`cannot resolve ${host} (${code})`, code)
  } finally {
    clearTimeout(timer)
  }
  const bad = addrs.find((a) => !isPublicAddress(a.address))
  if (bad !== undefined) throw new TargetError(`${host} resolves to ${bad.address}, which is not a public address`, 'FORBIDDEN_TARGET')
  return addrs
}

/** A `lookup` for net/tls.connect that only ever yields checked public addresses. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  resolvePublic(hostname).then((addrs) => {
    const wanted = typeof options === 'object' && options !== null ? options.family : undefined
    const pick = addrs.filter((a) => wanted === undefined || wanted === 0 || a.family === wanted)
    if ((options as { all?: boolean })?.all === true) {
      ;(callback as unknown as (e: null, a: typeof addrs) => void)(null, pick)
    } else {
      const a = pick[0] ?? addrs[0]!
      callback(null, a.address, a.family)
    }
  }, (err) => callback(err as NodeJS.ErrnoException, '', 0))
}

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

/** Resolves `host` to all its addresses; rejects if any of them is not public. */
export async function resolvePublic (host: string): Promise<Array<{ address: string, family: number }>> {
  let addrs: dns.LookupAddress[]
  let timer: NodeJS.Timeout | undefined
  try {
    addrs = await Promise.race([
      dns.promises.lookup(host, { all: true, verbatim: true }),
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

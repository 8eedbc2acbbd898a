// Which callback URLs and addresses are allowed (SPEC §4): absolute http(s), at most 2,048
// characters, no user info, and — unless MQCHAT_CALLBACK_ALLOW_PRIVATE=1 — only public
// addresses. The URL parser normalises the odd IPv4 spellings (2130706433, 0x7f.1, 127.1)
// before we look, and an IPv6 address that embeds an IPv4 one (mapped, NAT64, 6to4) is
// judged by the IPv4 address inside. Pure: tested with a table, as svix tests is_allowed.
import net from 'node:net'

export const MAX_URL_CHARS = 2048

const blocked = new net.BlockList()
// IPv4 special-purpose registry (RFC 6890 and successors)
for (const [a, p] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24],
  ['192.88.99.0', 24], ['192.168.0.0', 16], ['192.175.48.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]
] as const) blocked.addSubnet(a, p, 'ipv4')
// IPv6: unspecified, loopback, discard, local-use NAT64 (RFC 8215), documentation (both),
// IETF protocol assignments (incl. Teredo), ORCHIDv2, unique local, link-local, site-local,
// multicast
for (const [a, p] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['64:ff9b:1::', 48], ['2001::', 23], ['2001:db8::', 32], ['3fff::', 20], ['2001:20::', 28],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]
] as const) blocked.addSubnet(a, p, 'ipv6')

/** Expands an IPv6 address to its 8 groups. */
function groups (ip: string): number[] {
  let addr = ip
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr)
  if (v4 !== null) {
    const o = v4[1]!.split('.').map(Number)
    addr = addr.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`
  }
  const [head, tail] = addr.includes('::') ? addr.split('::') as [string, string] : [addr, null]
  const h = head === '' ? [] : head.split(':')
  const t = tail === null || tail === '' ? [] : tail.split(':')
  const fill = tail === null ? [] : Array(8 - h.length - t.length).fill('0')
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16))
}

const v4From = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`

/** The IPv4 address an IPv6 address carries, if it is one of the forms that embed one. */
export function embeddedIPv4 (ip: string): string | null {
  const g = groups(ip)
  const zero = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0)
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (translated)
  if (zero(0, 5) && (g[5] === 0xffff || g[5] === 0)) return v4From(g[6]!, g[7]!)
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return v4From(g[6]!, g[7]!)
  // 64:ff9b::a.b.c.d (NAT64) and 64:ff9b:1::/48 (local NAT64)
  if (g[0] === 0x64 && g[1] === 0xff9b) return v4From(g[6]!, g[7]!)
  // 2002:AABB:CCDD::/48 (6to4)
  if (g[0] === 0x2002) return v4From(g[1]!, g[2]!)
  return null
}

/** Is `ip` (an address literal) one a callback may be sent to? */
export function isPublicAddress (ip: string): boolean {
  const family = net.isIP(ip)
  if (family === 4) return !blocked.check(ip, 'ipv4')
  if (family === 6) {
    if (blocked.check(ip, 'ipv6')) return false
    const v4 = embeddedIPv4(ip)
    return v4 === null || !blocked.check(v4, 'ipv4')
  }
  return false
}

export type UrlCheck =
  | { ok: true, url: URL, /** the address literal, when the host is one */ ip: string | null }
  | { ok: false, code: 'invalid_url' | 'forbidden_target', message: string }

/** Checks a URL's form, and its host when that is an address literal. Names are resolved later. */
export function checkUrl (text: string, allowPrivate: boolean): UrlCheck {
  if (text.length > MAX_URL_CHARS) return { ok: false, code: 'invalid_url', message: `the URL is longer than ${MAX_URL_CHARS} characters` }
  // The URL parser drops spaces and control characters around a URL, and tabs and newlines
  // anywhere in it: the stored text would not be the address called. Refused rather than
  // trimmed, so what is stored and shown is exactly what was given.
  if (/^[\u0000-\u0020]|[\u0000-\u0020]$|[\t\n\r]/.test(text)) {
    return { ok: false, code: 'invalid_url', message: 'the URL has spaces or control characters around it, or a tab or line break in it' }
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { ok: false, code: 'invalid_url', message: 'not an absolute URL' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, code: 'invalid_url', message: 'the URL must start with http:// or https://' }
  if (url.username !== '' || url.password !== '') return { ok: false, code: 'invalid_url', message: 'the URL must not contain a user name or password' }
  if (url.hostname === '') return { ok: false, code: 'invalid_url', message: 'the URL has no host' }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const ip = net.isIP(host) === 0 ? null : host
  if (ip !== null && !allowPrivate && !isPublicAddress(ip)) {
    return { ok: false, code: 'forbidden_target', message: `${ip} is not a public address` }
  }
  return { ok: true, url, ip }
}

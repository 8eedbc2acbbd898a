// `Range: bytes=…` (RFC 9110 §14.2), for the records a player seeks in. Pure: tested with a
// table. One range is served; several (rarely asked for) get the whole file, which the RFC
// allows.

import type { ByteRange } from './storage.ts'

/** The range to serve: null for the whole file, 'unsatisfiable' for a 416. */
export function parseRange (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  // Not a single byte range (another unit, a list, garbage): ignored, as the RFC says.
  if (m === null || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    // bytes=-N: the last N bytes
    const n = Number(m[2])
    if (n === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(m[1])
  if (start >= size) return 'unsatisfiable'
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (end < start) return null
  return { start, end }
}

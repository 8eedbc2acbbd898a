// MQCHAT_ICE_SERVERS (SPEC §10.2), read by config.ts (the only file that reads the
// environment) and checked here.

/** One entry of RTCConfiguration.iceServers, as MQCHAT_ICE_SERVERS gives it. */
export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

export const urlsOf = (s: IceServer): string[] => typeof s.urls === 'string' ? [s.urls] : s.urls
/** A STUN or TURN URL of RFC 7064 / RFC 7065: scheme, host, optional port and transport. */
const ICE_URL = /^(stuns?|turns?):[^\s/?#]+(\?transport=(udp|tcp))?$/

/**
 * MQCHAT_ICE_SERVERS: a JSON array of RTCIceServer entries
 * (`[{"urls":"stun:stun.example.com:3478"},{"urls":["turn:turn.example.com:3478"]}]`).
 * With a TURN secret, TURN entries carry no username or credential of their own: they are
 * made per user (src/chat/ice.ts). Returns what is wrong instead, naming the entry.
 */
export function parseIceServers (text: string, turnSecret: boolean): IceServer[] | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return `must be JSON (an array of {"urls": …}), got ${JSON.stringify(text.slice(0, 80))}: ${(err as Error).message}`
  }
  if (!Array.isArray(value)) return 'must be a JSON array of {"urls": …} entries'
  const out: IceServer[] = []
  for (const [i, e] of value.entries()) {
    const where = `entry ${i}`
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return `${where} must be an object with "urls"`
    const { urls, username, credential, ...rest } = e as Record<string, unknown>
    const extra = Object.keys(rest)[0]
    if (extra !== undefined) return `${where} has an unknown field "${extra}" (allowed: urls, username, credential)`
    const list = typeof urls === 'string' ? [urls] : urls
    if (!Array.isArray(list) || list.length === 0 || !list.every((u) => typeof u === 'string')) return `${where}: "urls" must be a URL or a non-empty array of URLs`
    const bad = (list as string[]).find((u) => !ICE_URL.test(u))
    if (bad !== undefined) return `${where}: ${JSON.stringify(bad)} is not a stun:, stuns:, turn: or turns: URL (turn:host:3478?transport=udp)`
    for (const [k, v] of [['username', username], ['credential', credential]] as const) {
      if (v !== undefined && typeof v !== 'string') return `${where}: "${k}" must be a string`
    }
    const turn = (list as string[]).some((u) => u.startsWith('turn'))
    if (turn && turnSecret && (username !== undefined || credential !== undefined)) {
      return `${where}: leave out username and credential, MQCHAT_TURN_SECRET makes them for each user`
    }
    // (a browser refuses a TURN server without both: RTCPeerConnection throws InvalidAccessError)
    if (turn && !turnSecret && (username === undefined || credential === undefined)) {
      return `${where}: a TURN server needs "username" and "credential", or set MQCHAT_TURN_SECRET to make them for each user`
    }
    out.push(Object.freeze({ urls: typeof urls === 'string' ? urls : Object.freeze([...(urls as string[])]) as string[], ...(username === undefined ? {} : { username: username as string }), ...(credential === undefined ? {} : { credential: credential as string }) }))
  }
  return Object.freeze(out) as IceServer[]
}

// CONNECT (SPEC §1, §3): a clean session without a will, then the username and password
// checked by the chat, the user's friends read, its domain joined (several nodes), and its
// client id moved into the user's own namespace, all before the CONNACK.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AuthenticateError, Client, ConnectPacket } from 'aedes'
import type { BrokerState, MqClient } from './state.ts'

/** The most of a refused username the log keeps: a 60 KB one made a 60 KB line. */
export const LOGGED_USERNAME_MAX_CHARS = 100
/** A JWT's base64url header (`{"` is `eyJ`) and a dot, anywhere in the string. */
const LOOKS_LIKE_JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]/

/**
 * A refused username as the log shows it: bounded, and redacted when it looks like a token
 * (a client that swaps username and password would put its JWT in the log; SPEC §1).
 */
export function loggable (username: string | undefined): string | undefined {
  if (username === undefined) return undefined
  if (LOOKS_LIKE_JWT.test(username)) return '[redacted: looks like a token]'
  return username.length <= LOGGED_USERNAME_MAX_CHARS ? username : `${username.slice(0, LOGGED_USERNAME_MAX_CHARS)}… (${username.length} characters)`
}

export function preConnect (_client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
  // Sessions are always clean: a client catches up from history (`after`), so nothing
  // is queued in memory for users who may never come back. Wills are ignored: only the
  // server speaks for a user's presence.
  packet.clean = true
  delete (packet as { will?: unknown }).will
  done(null, true)
}

export function authenticate (s: BrokerState, client: MqClient, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean) => void): void {
  const refuse = (reason: string, code: 3 | 5 = 5): void => {
    s.log.info({ username: loggable(username), reason }, 'connection refused')
    const err = new Error(code === 5 ? 'not authorized' : 'server unavailable') as AuthenticateError
    err.returnCode = code
    done(err, false)
  }
  if (username === undefined || password === undefined) return refuse('no username or password')
  // Over WebSocket, the page's Origin is checked against the domain's allowedOrigins (SPEC §3).
  const headers = (client as { req?: IncomingMessage }).req?.headers
  const changesSeen = s.contacts.changeCount
  const token = password.toString('utf8')
  forgetPassword(client)
  void (async () => {
    const r = await s.chat.domains.checkConnect(username, token, Date.now(), { origin: headers?.origin, host: headers?.host })
    if (!r.ok) return refuse(r.reason)
    // Its friends are known before it can subscribe to anyone's presence (SPEC §10.3).
    await s.contacts.connected(r.domainId, r.userid, r.contacts, changesSeen)
    // Before the CONNACK: whatever another node publishes for this domain from now on
    // reaches this connection once it has subscribed (what came before, `history` has).
    const domainId = r.domainId
    await s.domains?.join(domainId)
    const conn = client.conn as Duplex & { closed?: boolean }
    if (conn.destroyed || conn.closed === true) {
      s.contacts.disconnected(domainId, r.userid)
      s.domains?.leave(domainId)
    } else {
      // undone by the Broker's close listener (index.ts)
      client.mqJoined = true
    }
    client.mq = { domainId, userid: r.userid }
    client.mqConnectedMs = Date.now()
    // Client ids live in the user's own namespace: a client cannot take over (and so
    // disconnect) another user's connection by reusing its client id [MQTT-3.1.4-2].
    client.id = `${domainId}/${r.userid}/${client.id}`
    done(null, true)
  })().catch((err) => {
    // (the check, or reading the user's friends: done has not been called yet)
    s.log.error({ err }, 'connection check failed')
    refuse('database unavailable', 3)
  })
}

/**
 * mqtt-packet's parser keeps a connection's CONNECT packet for its life (`settings`, read for
 * the protocol version), password included: a token of a few hundred bytes in a Buffer of its
 * own, 400 bytes a connection (issue 17), that nothing reads after authenticate. Not in
 * aedes's types; test/strictness.test.ts fails if an upgrade moves it.
 */
function forgetPassword (client: Client): void {
  const settings = (client as unknown as { _parser?: { settings?: { password?: Buffer } } })._parser?.settings
  if (settings?.password !== undefined) settings.password = undefined
}

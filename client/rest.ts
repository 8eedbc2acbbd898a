// The REST side of the browser client (SPEC §2, §8, §10): with the user's token, what MQTT
// does not carry (conversations, profiles, friends, uploads, web push, ICE servers) and what
// must work while MQTT reconnects (a conversation's history).
import type { MessageEvent } from '../protocol/wire.ts'
import { ChatError, type Session } from './session.ts'

export interface Profile { userid: number, name: string | null, avatar: string | null, link: string | null, status: string, timestamp: number | null }
export interface Conversation { peer: Profile, last: MessageEvent | null, unread: number, readUpTo: number, peerReadUpTo: number }
export interface UploadedFile { id: string, url: string, contentType: string, size: number, width: number | null, height: number | null, durationMs: number | null, thumbnailUrl: string | null }

export class Rest {
  constructor (private readonly base: string, private readonly domain: string, private readonly session: Session) {}

  private get userid (): number { return this.session.userid }

  /** One call under /api/v1/domains/{domain}; an error answer is a ChatError with its code. */
  async call<T> (method: string, path: string, body?: Blob): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.session.current()}` }
    if (body !== undefined) headers['content-type'] = body.type || 'application/octet-stream'
    const res = await fetch(`${this.base}/api/v1/domains/${encodeURIComponent(this.domain)}${path}`, { method, headers, body })
    const answer = await res.json().catch(() => ({}))
    if (!res.ok) throw new ChatError(answer?.error?.code ?? `http_${res.status}`, answer?.error?.message ?? res.statusText)
    return answer as T
  }

  /** A page of the conversation with peer, newest first. */
  async history (peer: number, opts: { before?: number, limit?: number } = {}): Promise<MessageEvent[]> {
    const q = new URLSearchParams({ userid: String(this.userid), peer: String(peer), limit: String(opts.limit ?? 50) })
    if (opts.before !== undefined) q.set('before', String(opts.before))
    return (await this.call<{ messages: MessageEvent[] }>('GET', `/messages?${q}`)).messages
  }

  async conversations (opts: { limit?: number } = {}): Promise<Conversation[]> {
    return (await this.call<{ conversations: Conversation[] }>('GET', `/users/${this.userid}/conversations?limit=${opts.limit ?? 50}`)).conversations
  }

  /** One page of the domain's online users (SPEC §2), never the whole domain's presence feed. */
  async onlineUsers (opts: { after?: number, limit?: number } = {}): Promise<{ users: Profile[], next: number | null }> {
    const q = new URLSearchParams({ status: 'online', limit: String(opts.limit ?? 100) })
    if (opts.after !== undefined) q.set('after', String(opts.after))
    return await this.call('GET', `/users?${q}`)
  }

  async profile (userid: number): Promise<Profile> { return await this.call('GET', `/users/${userid}`) }

  /** The user's friends with their profile and presence (SPEC §10.3), by userid. */
  async friends (): Promise<Profile[]> {
    return (await this.call<{ friends: Profile[] }>('GET', `/users/${this.userid}/friends`)).friends
  }

  /** Uploads a picture or a record (SPEC §8); the answer's `url` goes in a type 2, 3 or 4 message. */
  async upload (file: Blob): Promise<UploadedFile> {
    return await this.call('POST', '/files', file)
  }

  /** SPEC §10.2: the STUN/TURN servers for this user's calls (TURN credentials made for it). */
  async iceServers (): Promise<RTCIceServer[]> {
    return (await this.call<{ iceServers: RTCIceServer[] }>('GET', `/users/${this.userid}/ice`)).iceServers
  }

  /** SPEC §10.1: the server's web push key (base64url), for PushManager.subscribe. */
  async pushKey (): Promise<string> {
    const res = await fetch(`${this.base}/api/v1/push/key`)
    if (!res.ok) throw new ChatError(`http_${res.status}`, 'no web push key')
    return ((await res.json()) as { publicKey: string }).publicKey
  }

  /** Registers this browser's push subscription (its toJSON()) for the user (SPEC §10.1). */
  async subscribePush (subscription: { endpoint?: string, keys?: Record<string, string> }): Promise<void> {
    await this.call('POST', `/users/${this.userid}/push`, new Blob([JSON.stringify(subscription)], { type: 'application/json' }))
  }

  /**
   * The subscription this browser has already, with the service worker at `worker` (its
   * scope is `mqchat-push/` beside it, as the widget registers it), is given to the server
   * again for this user: on a shared browser it follows whoever is signed in. Resolves
   * whether or not there is one.
   */
  async renewPush (worker: string): Promise<void> {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
    const reg = await navigator.serviceWorker?.getRegistration(new URL('mqchat-push/', new URL(worker, location.href)).href)
    const sub = await reg?.pushManager?.getSubscription()
    if (sub != null) await this.subscribePush(sub.toJSON())
  }

  /** Removes it: the user gets no more pushes on this browser. */
  async unsubscribePush (endpoint: string): Promise<void> {
    await this.call('DELETE', `/users/${this.userid}/push`, new Blob([JSON.stringify({ endpoint })], { type: 'application/json' }))
  }
}

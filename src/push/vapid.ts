// The server's VAPID key pair (SPEC §10.1, RFC 8292): the three MQCHAT_VAPID_* settings, or
// else a pair generated once and kept in the store, so every node signs with the same key
// (a browser's subscription names the public key it was made for).
import webpush from 'web-push'
import type { VapidKeys } from '../config.ts'
import type { Store } from '../store/index.ts'

const SETTING = 'vapid'

/**
 * The subject of a generated pair: the public URL when it is https (a push service may
 * contact its operator there), else a mailto: of our own. Apple's service refuses
 * `localhost` subjects: a server reached by browsers sets MQCHAT_PUBLIC_URL to its https
 * address, or MQCHAT_VAPID_SUBJECT with its keys.
 */
export function defaultSubject (publicUrl: string | null): string {
  const u = publicUrl === null ? null : new URL(publicUrl)
  return u !== null && u.protocol === 'https:' && u.hostname !== 'localhost' ? publicUrl! : 'mailto:mqchat@localhost'
}

export async function loadVapid (store: Store, given: VapidKeys | null, publicUrl: string | null): Promise<{ keys: VapidKeys, generated: boolean }> {
  if (given !== null) return { keys: given, generated: false }
  const fresh = webpush.generateVAPIDKeys()
  // First node to start keeps its pair; every other node (and every later start) reads it.
  const kept = JSON.parse(await store.initSetting(SETTING, JSON.stringify(fresh))) as { publicKey: string, privateKey: string }
  return { keys: { publicKey: kept.publicKey, privateKey: kept.privateKey, subject: defaultSubject(publicUrl) }, generated: kept.publicKey === fresh.publicKey }
}

// MQCHAT_VAPID_PUBLIC_KEY, MQCHAT_VAPID_PRIVATE_KEY and MQCHAT_VAPID_SUBJECT (SPEC §10.1), read
// by config.ts (the only file that reads the environment) and checked here.
import { createECDH } from 'node:crypto'

/** A VAPID key pair (RFC 8292), base64url as `web-push` writes it, and its contact. */
export interface VapidKeys {
  /** the uncompressed P-256 point (65 bytes) */
  publicKey: string
  /** the private scalar (32 bytes) */
  privateKey: string
  /** `mailto:` or `https:` URL: whom a push service may contact about this server */
  subject: string
}

/**
 * SPEC §10.1: all three VAPID settings or none (none: a pair is generated once and kept in
 * the store, the same for every node). Keys as `npx web-push generate-vapid-keys` prints them.
 */
export function parseVapid (publicKey: string | undefined, privateKey: string | undefined, subject: string | undefined, problems: string[]): VapidKeys | null {
  const given = [publicKey, privateKey, subject].filter((v) => v !== undefined).length
  if (given === 0) return null
  if (given < 3) {
    problems.push('MQCHAT_VAPID_PUBLIC_KEY, MQCHAT_VAPID_PRIVATE_KEY and MQCHAT_VAPID_SUBJECT go together: set all three, or none to have a key pair generated')
    return null
  }
  const before = problems.length
  const bytes = (v: string): Buffer | null => /^[A-Za-z0-9_-]+={0,2}$/.test(v) ? Buffer.from(v, 'base64url') : null
  const pub = bytes(publicKey!)
  if (pub === null || pub.length !== 65 || pub[0] !== 4) problems.push('MQCHAT_VAPID_PUBLIC_KEY must be a P-256 public key in base64url (65 bytes, as `npx web-push generate-vapid-keys` prints it)')
  const priv = bytes(privateKey!)
  if (priv === null || priv.length !== 32) problems.push('MQCHAT_VAPID_PRIVATE_KEY must be a P-256 private key in base64url (32 bytes, as `npx web-push generate-vapid-keys` prints it)')
  if (problems.length === before) {
    const ecdh = createECDH('prime256v1')
    let matches = false
    try {
      ecdh.setPrivateKey(priv!)
      matches = ecdh.getPublicKey().equals(pub!)
    } catch {}
    if (!matches) problems.push('MQCHAT_VAPID_PRIVATE_KEY is not the private key of MQCHAT_VAPID_PUBLIC_KEY (give the two keys of one pair)')
  }
  const u = URL.canParse(subject!) ? new URL(subject!) : null
  if (u === null || (u.protocol !== 'mailto:' && u.protocol !== 'https:')) problems.push(`MQCHAT_VAPID_SUBJECT must be a mailto: or https: URL (mailto:ops@example.com), got "${subject}"`)
  return problems.length > before ? null : { publicKey: publicKey!, privateKey: privateKey!, subject: subject! }
}

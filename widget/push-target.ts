// Where a notification's click leads (SPEC §10.1): the page the visitor subscribed from, with
// the conversation open (`#mqchat=<peer>`, which the widget reads when it loads); or, when
// that page is open already, that window (told to open the conversation). Pure: tested in
// node (test/widget-push.test.ts) and used by the service worker.

/** The hash the widget opens a conversation from. */
export const OPEN_HASH = /^#mqchat=(\d{1,16})$/

export interface PushData { title?: string, body?: string, domain?: string, peer?: number, id?: number }

/** The page to open for a notification about `peer`: the subscribing page, else the scope's origin. */
export function targetUrl (page: string | null, fallback: string, peer: number): string {
  let u: URL
  try {
    u = new URL(page ?? fallback)
  } catch {
    u = new URL(fallback)
  }
  u.hash = `mqchat=${peer}`
  return u.href
}

/** The open window showing that page (whatever its hash), if any. */
export function pickWindow<C extends { url: string }> (windows: readonly C[], target: string): C | undefined {
  const strip = (href: string): string => { try { const u = new URL(href); u.hash = ''; return u.href } catch { return href } }
  const want = strip(target)
  return windows.find((w) => strip(w.url) === want)
}

/** The peer a page's hash asks to open, if it asks. */
export function peerOfHash (hash: string): number | null {
  const m = OPEN_HASH.exec(hash)
  const n = m === null ? NaN : Number(m[1])
  return Number.isSafeInteger(n) && n > 0 ? n : null
}

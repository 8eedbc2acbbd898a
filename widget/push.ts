// The widget's opt-in to web push (SPEC §10.1): a toggle button in the panel's header. The
// browser is asked for permission only when the visitor presses it; then the service worker
// is registered (from the page's origin), the browser subscribed with the server's key, and
// the subscription given to the server for this user. Pressed again, all of it is undone.
import type { WidgetContext } from './context.ts'
import type { h as H } from './ui/dom.ts'
import { icon } from './ui/icons.ts'
import type { UiStrings } from './ui/strings.ts'

/** The worker's scope: a path of its own, so it never takes the place of the site's own worker. */
const SCOPE = 'mqchat-push/'

const bytes = (b64url: string): Uint8Array => {
  const s = atob(b64url.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(s, (c) => c.charCodeAt(0))
}

/** The button, or null where this page cannot have web push (no worker URL, no Push API). */
export function pushToggle (ctx: WidgetContext, u: UiStrings, h: typeof H, note: (text: string) => void): HTMLButtonElement | null {
  const swUrl = ctx.serviceWorker
  if (swUrl === null || !('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return null
  const scope = new URL(SCOPE, new URL(swUrl, location.href)).pathname
  const btn = h('button', { type: 'button', className: 'icon-btn notify', 'aria-pressed': 'false', 'aria-label': u.notify, title: u.notifyOff }, icon('bell'))
  const show = (on: boolean): void => {
    btn.setAttribute('aria-pressed', String(on))
    btn.title = on ? u.notifyOn : u.notifyOff
  }
  const current = async (): Promise<PushSubscription | null> => {
    const reg = await navigator.serviceWorker.getRegistration(scope)
    return (await reg?.pushManager.getSubscription()) ?? null
  }
  // On already (an earlier visit; the loader has given it to the server again), unless it was
  // made for a key the server no longer has: then the visitor opts in anew.
  void current().then(async (sub) => {
    if (sub === null || Notification.permission !== 'granted') return
    const made = sub.options.applicationServerKey
    if (made != null && !sameBytes(new Uint8Array(made), bytes(await ctx.chat.pushKey()))) { await sub.unsubscribe(); return }
    show(true)
  }).catch(() => {})

  let busy = false
  btn.addEventListener('click', () => {
    if (busy) return
    busy = true
    btn.setAttribute('aria-busy', 'true')
    const on = btn.getAttribute('aria-pressed') === 'true'
    void (on ? turnOff() : turnOn()).finally(() => { busy = false; btn.removeAttribute('aria-busy') })
  })

  async function turnOn (): Promise<void> {
    note('')
    try {
      // Asked here, in the click that wants it (browsers allow the prompt only from a gesture).
      if (await Notification.requestPermission() !== 'granted') { note(u.notifyBlocked); return }
      // The page to come back to is this one (the worker reads it from its URL).
      const page = new URL(location.href)
      page.hash = ''
      const script = new URL(swUrl!, location.href)
      script.searchParams.set('page', page.href)
      const reg = await navigator.serviceWorker.register(script.href, { scope })
      const key = await ctx.chat.pushKey()
      let sub = await reg.pushManager.getSubscription()
      const made = sub?.options.applicationServerKey
      if (sub !== null && made != null && !sameBytes(new Uint8Array(made), bytes(key))) {
        // Made for another key (the server's pair changed): a push service refuses it now.
        await sub.unsubscribe()
        sub = null
      }
      sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) as BufferSource })
      await ctx.chat.subscribePush(sub.toJSON())
      show(true)
    } catch (err) {
      console.warn('mqchat: web push could not be turned on:', err)
      note(u.notifyFailed)
      show(false)
    }
  }

  async function turnOff (): Promise<void> {
    note('')
    try {
      const sub = await current()
      if (sub !== null) {
        await ctx.chat.unsubscribePush(sub.endpoint).catch(() => {})
        await sub.unsubscribe()
      }
    } catch (err) {
      console.warn('mqchat: web push could not be turned off:', err)
    }
    show(false)
  }

  return btn
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

// /sw.js (SPEC §10.1): the widget's service worker. It shows each push as a notification and,
// on a click, brings the visitor to the conversation: the page it subscribed from (given in
// this script's URL as ?page=…, when the widget registered it), focused if it is open (and
// told which conversation to open), else opened with `#mqchat=<peer>`.
//
// A site whose pages are on another origin than mqchat's cannot register a worker of another
// origin: it serves a one-line file of its own, `importScripts('https://chat…/sw.js')`, and
// names it in the tag (data-service-worker, docs/push.md). `self.location` is then that file's.
import { pickWindow, targetUrl, type PushData } from './push-target.ts'

// The few service worker types used here (the DOM library has no worker scope).
interface WindowClientLike { url: string, focus: () => Promise<unknown>, postMessage: (m: unknown) => void }
interface ExtendableEventLike extends Event { waitUntil: (p: Promise<unknown>) => void }
interface PushEventLike extends ExtendableEventLike { data: { json: () => unknown, text: () => string } | null }
interface NotificationEventLike extends ExtendableEventLike { notification: Notification }
interface Scope {
  location: Location
  registration: ServiceWorkerRegistration
  clients: {
    matchAll: (o: { type: 'window', includeUncontrolled: boolean }) => Promise<WindowClientLike[]>
    openWindow: (url: string) => Promise<unknown>
    claim: () => Promise<void>
  }
  skipWaiting: () => Promise<void>
  addEventListener: (type: string, fn: (e: any) => void) => void
}
const sw = self as unknown as Scope

const page = new URL(sw.location.href).searchParams.get('page')

sw.addEventListener('install', () => { void sw.skipWaiting() })
sw.addEventListener('activate', (e: ExtendableEventLike) => { e.waitUntil(sw.clients.claim()) })

sw.addEventListener('push', (e: PushEventLike) => {
  let data: PushData = {}
  try {
    data = (e.data?.json() ?? {}) as PushData
  } catch {
    data = { body: e.data?.text() ?? '' }
  }
  const title = typeof data.title === 'string' && data.title !== '' ? data.title : 'New message'
  e.waitUntil(sw.registration.showNotification(title, {
    body: typeof data.body === 'string' ? data.body : '',
    // One notification per conversation: a newer message replaces the one before.
    tag: `mqchat:${data.domain ?? ''}:${data.peer ?? ''}`,
    data: { ...data, page }
  } as NotificationOptions))
})

sw.addEventListener('notificationclick', (e: NotificationEventLike) => {
  e.notification.close()
  const data = (e.notification.data ?? {}) as PushData & { page?: string | null }
  e.waitUntil(openConversation(data))
})

/** Exposed for the widget's test: what a click does, with the data of a notification. */
async function openConversation (data: PushData & { page?: string | null }): Promise<string> {
  const peer = typeof data.peer === 'number' ? data.peer : 0
  const url = targetUrl(data.page ?? page, new URL('/', sw.location.href).href, peer)
  const open = pickWindow(await sw.clients.matchAll({ type: 'window', includeUncontrolled: true }), url)
  if (open !== undefined) {
    // Told first: focusing may be refused (no click to allow it), the conversation still opens.
    open.postMessage({ mqchat: 'open', domain: data.domain, peer })
    await open.focus().catch(() => {})
    return 'focused'
  }
  await sw.clients.openWindow(url)
  return 'opened'
}
;(self as unknown as { mqchatOpenConversation: typeof openConversation }).mqchatOpenConversation = openConversation

// The operator's list of domains, and a domain's page: its two callbacks, who is online, the
// recent messages. The domain page refreshes itself every REFRESH_MS.
import { api } from './api.js'
import { callbackSection } from './callback-form.js'
import { busy, clear, copy, h, when } from './dom.js'
import { embedSection } from './embed.js'

const REFRESH_MS = 5000
const KINDS = [['presence', 'Presence callback'], ['messages', 'Messages callback']]
const MESSAGE_TYPES = ['text', 'sticker', 'picture from disk', 'record', 'picture from cam', 'audio/video notification']

const app = document.getElementById('app')
let refreshTimer = null
/** what the page shows now, for the timed refresh; null on the sign-in form */
let view = null

/** Is a signed-in page showing? */
export const showing = () => view !== null

/** Leaves the page: its timed refresh stops. */
export function leave () {
  stopRefresh()
  view = null
}

function stopRefresh () {
  if (refreshTimer !== null) clearInterval(refreshTimer)
  refreshTimer = null
}

// --- the operator: domains ---

/** `shell.header(me, extra)` draws the top bar; `created`: a domain just made, keys shown once. */
export async function operatorPage (shell, me, created) {
  stopRefresh()
  history.replaceState(null, '', '#')
  shell.header(me)
  const { domains } = await api('GET', '/domains')
  view = { kind: 'operator' }
  const idInput = h('input', { id: 'new-id', type: 'text', required: true, pattern: '[a-z0-9][a-z0-9.\\-]{0,62}', placeholder: 'acme' })
  const nameInput = h('input', { id: 'new-name', type: 'text', required: true, placeholder: 'Acme Ltd' })
  const error = h('p', { class: 'error', role: 'alert' })
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault()
      await busy(form.querySelector('button'), async () => {
        const d = await api('POST', '/domains', { id: idInput.value.trim(), name: nameInput.value.trim() })
        await operatorPage(shell, me, d)
      }, error)
    }
  },
  h('div', { class: 'row' },
    h('div', { class: 'field' }, h('label', { for: 'new-id' }, 'Domain ID'), idInput),
    h('div', { class: 'field' }, h('label', { for: 'new-name' }, 'Name'), nameInput)),
  error,
  h('button', { type: 'submit' }, 'Create domain'))

  const keys = created
    ? h('div', { class: 'keys', role: 'alert' },
      h('p', {}, h('strong', {}, `Domain ${created.id} created. `), 'Copy its keys now: they are not shown again.'),
      secretLine('API key', created.apiKey),
      secretLine('Token secret', created.tokenSecret))
    : null

  const rows = domains.map((d) => h('tr', {},
    h('td', {}, h('code', {}, d.id)),
    h('td', {}, d.name),
    h('td', {}, when(d.createdAt)),
    h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Open ${d.id}`, onclick: () => domainPage(shell, me, d.id) }, 'Open'))))

  clear(app,
    h('section', { 'aria-labelledby': 'domains-h' },
      h('h1', { id: 'domains-h' }, 'Domains'),
      keys,
      domains.length === 0
        ? h('p', { class: 'muted' }, 'No domain yet: create the first one below.')
        : h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, h('th', {}, 'ID'), h('th', {}, 'Name'), h('th', {}, 'Created'), h('th', {}, ''))),
          h('tbody', {}, rows))),
      h('h2', {}, 'Create a domain'),
      form))
}

function secretLine (label, value) {
  const button = h('button', { type: 'button', class: 'secondary', onclick: () => copy(value, button) }, 'Copy')
  return h('p', { class: 'row' }, h('span', {}, `${label}: `), h('code', {}, value), button)
}

// --- a domain: callbacks, online users, recent messages ---

/** A file URL of this server (SPEC §8), wherever MQCHAT_PUBLIC_URL points: its path. */
const FILE_PATH = /\/files\/([a-z0-9][a-z0-9.-]{0,62})\/([A-Za-z0-9_-]{22})$/

/**
 * A message's text; for a picture (types 2, 4) its thumbnail, linked to the picture, and for
 * a record (type 3) a player. Loaded from this page's own origin (the panel's CSP allows
 * nothing else), by the path the server gave it, never by a URL taken as it is.
 */
function messageBody (m) {
  const type = m.message.type
  const found = type >= 2 && type <= 4 ? FILE_PATH.exec(m.message.message) : null
  if (found === null) return m.message.message
  const path = `/files/${found[1]}/${found[2]}`
  if (type === 3) return h('audio', { controls: true, preload: 'metadata', src: path, 'aria-label': `voice record from ${m.from_userid}` })
  return h('a', { href: path, target: '_blank', rel: 'noopener noreferrer' },
    h('img', { src: `${path}/thumbnail`, alt: `picture from ${m.from_userid}`, class: 'thumb', loading: 'lazy' }))
}

export async function domainPage (shell, me, domainId) {
  stopRefresh()
  if (me.kind === 'operator') history.replaceState(null, '', `#domain=${encodeURIComponent(domainId)}`)
  const domain = me.kind === 'operator' ? await api('GET', `/domains/${encodeURIComponent(domainId)}`) : me.domain
  shell.header(me, me.kind === 'operator' ? [h('button', { type: 'button', class: 'secondary', onclick: () => operatorPage(shell, me) }, 'All domains')] : [])
  const base = `/domains/${encodeURIComponent(domain.id)}`
  const sections = KINDS.map(([kind, title]) => callbackSection(base, kind, title))
  const online = h('ul', { class: 'online' })
  const messages = h('tbody')
  view = { kind: 'domain', base, sections, online, messages }
  const title = h('h1', {}, `${domain.name} `, h('span', { class: 'muted' }, `(${domain.id})`))
  clear(app,
    title,
    h('div', { class: 'callbacks' }, sections.map((s) => s.el)),
    settingsSection(base, domain, (d) => clear(title, `${d.name} `, h('span', { class: 'muted' }, `(${d.id})`))),
    embedSection(domain),
    h('section', { 'aria-labelledby': 'online-h' }, h('h2', { id: 'online-h' }, 'Online now'), online),
    h('section', { 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, 'Recent messages'),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'From'), h('th', {}, 'To'), h('th', {}, 'Type'), h('th', {}, 'Text'), h('th', {}, 'Time'))),
        messages))))
  await Promise.all(sections.map((s) => s.load()))
  await refreshDomain()
  refreshTimer = setInterval(() => { refreshDomain().catch(() => {}) }, REFRESH_MS)
}

/** The domain's settings: name, retention, the origins allowed to use it from a browser, who users may reach. */
function settingsSection (base, domain, saved) {
  const name = h('input', { id: 'settings-name', type: 'text', required: true, maxlength: 200, value: domain.name })
  const retention = h('input', { id: 'settings-retention', type: 'number', min: 0, max: 36500, step: 1, required: true, value: String(domain.retentionDays ?? 0), 'aria-describedby': 'settings-retention-help' })
  const origins = h('textarea', { id: 'settings-origins', rows: 3, placeholder: 'https://www.example.com', 'aria-describedby': 'settings-origins-help' })
  origins.value = (domain.allowedOrigins ?? []).join('\n')
  // SPEC §10.3: who the domain's users may message, call and see online
  const contacts = h('select', { id: 'settings-contacts', 'aria-describedby': 'settings-contacts-help' },
    h('option', { value: 'everyone', selected: domain.contacts !== 'friends' }, 'Everyone in the domain'),
    h('option', { value: 'friends', selected: domain.contacts === 'friends' }, 'Their friends only'))
  const error = h('p', { class: 'error', role: 'alert' })
  const done = h('p', { class: 'muted', role: 'status' })
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault()
      clear(done)
      await busy(form.querySelector('button'), async () => {
        const allowedOrigins = origins.value.split(/[\s,]+/).map((o) => o.trim()).filter((o) => o !== '')
        const d = await api('PATCH', base, { name: name.value.trim(), retentionDays: Number(retention.value), allowedOrigins, contacts: contacts.value })
        origins.value = d.allowedOrigins.join('\n')
        saved(d)
        clear(done, 'Saved.')
      }, error)
    }
  },
  h('div', { class: 'field' }, h('label', { for: 'settings-name' }, 'Name'), name),
  h('div', { class: 'field' }, h('label', { for: 'settings-retention' }, 'Retention (days)'), retention,
    h('p', { id: 'settings-retention-help', class: 'muted' }, 'Messages older than this are deleted; 0 keeps them as long as the server does.')),
  h('div', { class: 'field' }, h('label', { for: 'settings-origins' }, 'Allowed origins'), origins,
    h('p', { id: 'settings-origins-help', class: 'muted' }, 'One per line, such as https://www.example.com: only pages there may use the chat from a browser. Empty: any.')),
  h('div', { class: 'field' }, h('label', { for: 'settings-contacts' }, 'Users may reach'), contacts,
    h('p', { id: 'settings-contacts-help', class: 'muted' }, 'With friends only, users message, call and see online only the friends your server sets (PUT …/users/{userid}/friends/{peer}).')),
  error,
  h('button', { type: 'submit' }, 'Save settings'),
  done)
  return h('section', { 'aria-labelledby': 'settings-h' }, h('h2', { id: 'settings-h' }, 'Settings'), form)
}

async function refreshDomain () {
  if (view?.kind !== 'domain') return
  const { base, sections, online, messages } = view
  const [users, recent] = await Promise.all([
    // the user list: presence with the profile beside it
    Promise.all(['online', 'away', 'busy'].map((s) => api('GET', `${base}/users?status=${s}&limit=1000`).then((r) => r.users))),
    api('GET', `${base}/messages?limit=20`)
  ])
  const present = users.flat().sort((a, b) => a.userid - b.userid)
  clear(online, present.length === 0
    ? h('li', { class: 'muted' }, 'Nobody is online.')
    : present.map((u) => h('li', { title: `since ${when(u.timestamp)}` },
      `${u.userid}`,
      u.name ? [' ', u.link ? h('a', { href: u.link, target: '_blank', rel: 'noopener noreferrer' }, u.name) : h('span', {}, u.name)] : '',
      u.status === 'online' ? '' : ` (${u.status})`)))
  clear(messages, recent.messages.length === 0
    ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No messages yet.'))
    : recent.messages.map((m) => h('tr', {},
      h('td', {}, String(m.from_userid)),
      h('td', {}, String(m.to_userid)),
      h('td', {}, MESSAGE_TYPES[m.message.type] ?? String(m.message.type)),
      h('td', {}, messageBody(m)),
      h('td', {}, when(m.message.timestamp)))))
  await Promise.all(sections.map((s) => s.refresh()))
}

// The mqchat admin panel: plain JavaScript, no build step. It talks to the REST API with the
// key it was signed in with (kept in sessionStorage: it survives a reload, not the tab).
// Every text that comes from users or receivers is put in the page as text (textContent,
// through h()), never as HTML.

const KEY_STORAGE = 'mqchat.apiKey'
const REFRESH_MS = 5000
const LOG_PAGE = 20
const KINDS = [['presence', 'Presence callback'], ['messages', 'Messages callback']]
const MESSAGE_TYPES = ['text', 'sticker', 'picture from disk', 'record', 'picture from cam', 'audio/video notification']

const app = document.getElementById('app')
const who = document.getElementById('who')
const notice = document.getElementById('notice')
let refreshTimer = null
/** what the page shows now, for the timed refresh */
let view = null

// --- helpers ---

/** An element with attributes, handlers (on*) and children; strings become text nodes. */
function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

function clear (el, ...children) {
  el.replaceChildren()
  append(el, children)
}

const when = (sec) => sec === null || sec === undefined ? '—' : new Date(sec * 1000).toLocaleString()

class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

async function api (method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) ?? ''}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const data = await res.json().catch(() => ({}))
  if (!res.ok) {
    const e = data.error ?? { code: 'http_' + res.status, message: res.statusText }
    if (res.status === 401 && view !== null) {
      signOut('Your key is not valid any more: sign in again.')
    }
    throw new ApiError(res.status, e.code, e.message)
  }
  return data
}

function say (text) {
  clear(notice, text ? h('p', {}, text) : null)
}

/** Runs an action for a button: disables it meanwhile and shows errors where they belong. */
async function busy (button, fn, errorEl) {
  button.disabled = true
  if (errorEl) clear(errorEl)
  try {
    await fn()
  } catch (err) {
    if (errorEl) clear(errorEl, err.message)
    else say(err.message)
  } finally {
    button.disabled = false
  }
}

async function copy (text, button) {
  try {
    await navigator.clipboard.writeText(text)
    button.textContent = 'Copied'
  } catch {
    button.textContent = 'Copy failed'
  }
  setTimeout(() => { button.textContent = 'Copy' }, 1500)
}

// --- sign in and out ---

function signInPage (message) {
  stopRefresh()
  view = null
  clear(who)
  const input = h('input', { id: 'api-key', type: 'password', class: 'key', autocomplete: 'off', required: true, spellcheck: 'false' })
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '')
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault()
      const button = form.querySelector('button')
      await busy(button, async () => {
        sessionStorage.setItem(KEY_STORAGE, input.value.trim())
        try {
          await start()
        } catch (err) {
          sessionStorage.removeItem(KEY_STORAGE)
          throw err.status === 401 ? new Error('This key is not known: check it and try again.') : err
        }
      }, error)
    }
  },
  h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input),
  h('p', { class: 'muted' }, 'A domain key manages that domain\'s callbacks; the operator key can also list and create domains.'),
  error,
  h('button', { type: 'submit' }, 'Sign in'))
  clear(app, h('section', { 'aria-labelledby': 'signin-h' }, h('h1', { id: 'signin-h' }, 'Sign in'), form))
  input.focus()
}

function signOut (message) {
  sessionStorage.removeItem(KEY_STORAGE)
  say('')
  signInPage(message)
}

function header (me, extra = []) {
  clear(who,
    h('span', {}, me.kind === 'operator' ? 'Operator' : `${me.domain.name} (${me.domain.id})`),
    ...extra,
    h('button', { type: 'button', class: 'secondary', onclick: () => signOut() }, 'Sign out'))
}

async function start () {
  const me = await api('GET', '/me')
  say('')
  if (me.kind === 'operator') {
    const open = location.hash.startsWith('#domain=') ? decodeURIComponent(location.hash.slice(8)) : null
    if (open) await domainPage(me, open)
    else await operatorPage(me)
  } else {
    await domainPage(me, me.domain.id)
  }
}

// --- the operator: domains ---

async function operatorPage (me, created) {
  stopRefresh()
  history.replaceState(null, '', '#')
  header(me)
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
        await operatorPage(me, d)
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
    h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Open ${d.id}`, onclick: () => domainPage(me, d.id) }, 'Open'))))

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

async function domainPage (me, domainId) {
  stopRefresh()
  if (me.kind === 'operator') history.replaceState(null, '', `#domain=${encodeURIComponent(domainId)}`)
  const domain = me.kind === 'operator' ? await api('GET', `/domains/${encodeURIComponent(domainId)}`) : me.domain
  header(me, me.kind === 'operator' ? [h('button', { type: 'button', class: 'secondary', onclick: () => operatorPage(me) }, 'All domains')] : [])
  const base = `/domains/${encodeURIComponent(domain.id)}`
  const sections = KINDS.map(([kind, title]) => callbackSection(base, kind, title))
  const online = h('ul', { class: 'online' })
  const messages = h('tbody')
  view = { kind: 'domain', base, sections, online, messages }
  clear(app,
    h('h1', {}, `${domain.name} `, h('span', { class: 'muted' }, `(${domain.id})`)),
    h('div', { class: 'callbacks' }, sections.map((s) => s.el)),
    h('section', { 'aria-labelledby': 'online-h' }, h('h2', { id: 'online-h' }, 'Online now'), online),
    h('section', { 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, 'Recent messages'),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'From'), h('th', {}, 'To'), h('th', {}, 'Type'), h('th', {}, 'Text'), h('th', {}, 'Time'))),
        messages))))
  await Promise.all(sections.map((s) => s.load()))
  await refreshDomain()
  refreshTimer = setInterval(() => { refreshDomain().catch(() => {}) }, REFRESH_MS)
}

async function refreshDomain () {
  if (view?.kind !== 'domain') return
  const { base, sections, online, messages } = view
  const [users, recent] = await Promise.all([
    Promise.all(['online', 'away', 'busy'].map((s) => api('GET', `${base}/presence?status=${s}`).then((r) => r.users))),
    api('GET', `${base}/messages?limit=20`)
  ])
  const present = users.flat().sort((a, b) => a.userid - b.userid)
  clear(online, present.length === 0
    ? h('li', { class: 'muted' }, 'Nobody is online.')
    : present.map((u) => h('li', { title: `since ${when(u.timestamp)}` }, `${u.userid}`, u.status === 'online' ? '' : ` (${u.status})`)))
  clear(messages, recent.messages.length === 0
    ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No messages yet.'))
    : recent.messages.map((m) => h('tr', {},
      h('td', {}, String(m.from_userid)),
      h('td', {}, String(m.to_userid)),
      h('td', {}, MESSAGE_TYPES[m.message.type] ?? String(m.message.type)),
      h('td', {}, m.message.message),
      h('td', {}, when(m.message.timestamp)))))
  await Promise.all(sections.map((s) => s.refresh()))
}

function stopRefresh () {
  if (refreshTimer !== null) clearInterval(refreshTimer)
  refreshTimer = null
}

function stateLine (cb) {
  if (cb.enabled) {
    return [h('span', { class: 'on' }, 'On'), ` · ${cb.pending} pending · last success ${when(cb.lastSuccessAt)}`,
      cb.lastFailureAt ? ` · last failure ${when(cb.lastFailureAt)}` : '']
  }
  if (cb.disabledReason) {
    return [h('span', { class: 'off' }, 'Off'), ` — switched off by the server on ${when(cb.disabledAt)}: ${cb.disabledReason}. Fix the receiver, then tick Enabled and Save.`]
  }
  if (cb.url === null) return [h('span', { class: 'off' }, 'Off'), ' — no URL yet.']
  return [h('span', { class: 'off' }, 'Off'), cb.disabledAt ? ` — switched off on ${when(cb.disabledAt)}.` : '.']
}

function callbackSection (base, kind, title) {
  const path = `${base}/callbacks/${kind}`
  const id = (s) => `${kind}-${s}`
  const state = h('p', { class: 'state', 'aria-live': 'polite' })
  const url = h('input', { id: id('url'), type: 'url', placeholder: 'https://example.com/callback', maxlength: 2048, spellcheck: 'false' })
  // Ticked or unticked by the user and not saved yet: the timed refresh leaves it alone.
  let edited = false
  const enabled = h('input', { id: id('enabled'), type: 'checkbox', onchange: () => { edited = true } })
  const urlError = h('p', { class: 'error', role: 'alert', id: id('url-error') })
  url.setAttribute('aria-describedby', id('url-error'))
  let secret = ''
  let revealed = false
  const secretCode = h('code', {}, '••••••••')
  const reveal = h('button', { type: 'button', class: 'secondary', onclick: () => { revealed = !revealed; showSecret() } }, 'Reveal')
  const copyButton = h('button', { type: 'button', class: 'secondary', onclick: () => copy(secret, copyButton) }, 'Copy')
  const rotate = h('button', {
    type: 'button',
    class: 'secondary',
    onclick: () => busy(rotate, async () => {
      if (!confirm('Make a new signing secret? The old one keeps signing beside it for 24 hours.')) return
      show(await api('POST', `${path}/rotate-secret`))
      say('New signing secret made; the old one still signs for 24 hours.')
    })
  }, 'Rotate')
  const showSecret = () => {
    secretCode.textContent = revealed ? secret : '••••••••'
    reveal.textContent = revealed ? 'Hide' : 'Reveal'
  }

  const testOut = h('output', { 'aria-live': 'polite' })
  const testButton = h('button', {
    type: 'button',
    onclick: () => busy(testButton, async () => {
      clear(testOut, 'Sending…')
      const r = await api('POST', `${path}/test`)
      clear(testOut,
        h('span', { class: r.result }, r.result === 'ok' ? 'Delivered' : 'Failed'),
        ` · status ${r.responseStatus ?? '—'} · ${r.durationMs} ms`,
        r.error ? ` · ${r.error}` : '',
        h('pre', {}, r.responseBody || '(empty response body)'))
    }, testOut)
  }, 'Send test')

  const since = h('input', { id: id('since'), type: 'datetime-local', required: true })
  since.value = localInput(Date.now() - 3600_000)
  const replayOut = h('output', { 'aria-live': 'polite' })
  const replayForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault()
      await busy(replayForm.querySelector('button'), async () => {
        const sinceSec = Math.floor(new Date(since.value).getTime() / 1000)
        if (!Number.isFinite(sinceSec)) throw new Error('Choose a date and time.')
        const r = await api('POST', `${path}/replay`, { since: sinceSec })
        clear(replayOut, `${r.queued} event${r.queued === 1 ? '' : 's'} queued to be sent again.`)
        await refresh()
      }, replayOut)
    }
  },
  h('div', { class: 'row' }, h('label', { for: id('since') }, 'Send again everything since'), since, h('button', { type: 'submit' }, 'Replay')),
  replayOut)

  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault()
      await busy(form.querySelector('button'), async () => {
        const body = { enabled: enabled.checked }
        if (url.value.trim() !== '') body.url = url.value.trim()
        try {
          show(await api('PUT', path, body))
          edited = false
          say(`${title} saved.`)
        } catch (err) {
          url.setAttribute('aria-invalid', 'true')
          throw err
        }
        url.removeAttribute('aria-invalid')
      }, urlError)
    }
  },
  h('div', { class: 'field' }, h('label', { for: id('url') }, 'Callback URL'), url),
  urlError,
  h('div', { class: 'row' },
    h('label', { for: id('enabled') }, enabled, ' Enabled'),
    h('button', { type: 'submit' }, 'Save')))

  // logs: newest first, filter, paging, detail on click
  const filter = h('select', { id: id('filter'), onchange: () => { pages = [undefined]; loadLogs() } },
    h('option', { value: '' }, 'all'), h('option', { value: 'ok' }, 'ok'), h('option', { value: 'failed' }, 'failed'))
  const logBody = h('tbody')
  let pages = [undefined] // the `before` cursor of each page seen; the last is the current one
  let lastItems = []
  const newer = h('button', { type: 'button', class: 'secondary', onclick: () => { pages.pop(); loadLogs() } }, 'Newer')
  const older = h('button', { type: 'button', class: 'secondary', onclick: () => { pages.push(lastItems.at(-1).id); loadLogs() } }, 'Older')
  const open = new Set()

  async function loadLogs () {
    const before = pages.at(-1)
    const q = new URLSearchParams({ limit: String(LOG_PAGE) })
    if (filter.value) q.set('result', filter.value)
    if (before !== undefined) q.set('before', String(before))
    const { items } = await api('GET', `${path}/logs?${q}`)
    lastItems = items
    newer.disabled = pages.length === 1
    older.disabled = items.length < LOG_PAGE
    renderLogs(items.length === 0
      ? h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No attempts yet.'))
      : items.flatMap((l) => logRows(l)))
  }

  function renderLogs (rows) {
    const focusedId = document.activeElement?.id
    clear(logBody, rows)
    if (focusedId) document.getElementById(focusedId)?.focus()
  }

  function logRows (l) {
    const toggle = () => { open.has(l.id) ? open.delete(l.id) : open.add(l.id); renderLogs(lastItems.flatMap((x) => logRows(x))) }
    const row = h('tr', { class: 'log', onclick: toggle },
      h('td', {}, when(l.at)),
      h('td', { class: l.result }, l.result),
      h('td', {}, l.responseStatus ?? '—'),
      h('td', {}, `#${l.attempt}`),
      h('td', {}, `${l.durationMs} ms`),
      h('td', {}, h('button', { type: 'button', id: id(`log-${l.id}`), class: 'secondary', 'aria-expanded': open.has(l.id) ? 'true' : 'false', onclick: (e) => { e.stopPropagation(); toggle() } }, open.has(l.id) ? 'Hide' : 'Details')))
    if (!open.has(l.id)) return [row]
    const headers = Object.entries(l.requestHeaders).map(([k, v]) => `${k}: ${v}`).join('\n')
    return [row, h('tr', { class: 'detail' }, h('td', { colspan: 6 },
      h('div', {}, h('strong', {}, 'Event '), h('code', {}, `${l.eventId} · ${l.webhookId}`), ' → ', h('code', {}, l.url)),
      h('div', {}, h('strong', {}, 'Attempt '), `#${l.attempt} · ${l.durationMs} ms · ${when(l.at)}`),
      l.error ? h('p', { class: 'failed' }, h('strong', {}, 'Error: '), l.error) : null,
      h('h3', {}, 'Request headers'), h('pre', {}, headers),
      h('h3', {}, 'Request body'), h('pre', {}, l.requestBody),
      h('h3', {}, `Response ${l.responseStatus ?? '(none)'}`), h('pre', {}, l.responseBody || '(empty)')))]
  }

  const el = h('section', { 'aria-labelledby': id('h'), 'data-kind': kind },
    h('h2', { id: id('h') }, title),
    state,
    form,
    h('div', { class: 'row' }, h('span', {}, 'Signing secret:'), secretCode, reveal, copyButton, rotate),
    h('div', { class: 'row' }, testButton),
    testOut,
    replayForm,
    h('h3', {}, 'Logs'),
    h('div', { class: 'row' }, h('label', { for: id('filter') }, 'Show'), filter, newer, older),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Result'), h('th', {}, 'Status'), h('th', {}, 'Attempt'), h('th', {}, 'Duration'), h('th', {}, ''))),
      logBody)))

  function show (cb) {
    secret = cb.signingSecret
    showSecret()
    // Replaced only when it changes: it is a live region, read out on each change.
    const line = h('p', {}, stateLine(cb))
    if (line.textContent !== state.textContent) clear(state, ...line.childNodes)
    return cb
  }

  async function load () {
    const cb = show(await api('GET', path))
    url.value = cb.url ?? ''
    enabled.checked = cb.enabled
    await loadLogs()
  }

  async function refresh () {
    const cb = show(await api('GET', path))
    // The server may have switched it off meanwhile: the box says so, unless being edited.
    if (!edited) enabled.checked = cb.enabled
    if (pages.length === 1) await loadLogs()
  }

  return { el, load, refresh }
}

function localInput (ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

// --- start ---

if (sessionStorage.getItem(KEY_STORAGE)) {
  start().catch((err) => signOut(err.status === 401 ? 'Your key is not valid any more: sign in again.' : err.message))
} else {
  signInPage()
}

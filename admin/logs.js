// A callback's delivery logs: newest first, filtered by result, paged, a row's detail (the
// request and the response) on click. The focus stays on the row's button across redraws.
import { api } from './api.js'
import { clear, h, when } from './dom.js'

const LOG_PAGE = 20

/** `path`: the callback's API path; `id(s)`: an element id unique to the callback. */
export function callbackLogs (path, id) {
  const filter = h('select', { id: id('filter'), onchange: () => { pages = [undefined]; load() } },
    h('option', { value: '' }, 'all'), h('option', { value: 'ok' }, 'ok'), h('option', { value: 'failed' }, 'failed'))
  const logBody = h('tbody')
  let pages = [undefined] // the `before` cursor of each page seen; the last is the current one
  let lastItems = []
  const newer = h('button', { type: 'button', class: 'secondary', onclick: () => { pages.pop(); load() } }, 'Newer')
  const older = h('button', { type: 'button', class: 'secondary', onclick: () => { pages.push(lastItems.at(-1).id); load() } }, 'Older')
  const open = new Set()

  async function load () {
    const before = pages.at(-1)
    const q = new URLSearchParams({ limit: String(LOG_PAGE) })
    if (filter.value) q.set('result', filter.value)
    if (before !== undefined) q.set('before', String(before))
    const { items } = await api('GET', `${path}/logs?${q}`)
    lastItems = items
    newer.disabled = pages.length === 1
    older.disabled = items.length < LOG_PAGE
    render(items.length === 0
      ? h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No attempts yet.'))
      : items.flatMap((l) => rows(l)))
  }

  function render (trs) {
    const focusedId = document.activeElement?.id
    clear(logBody, trs)
    if (focusedId) document.getElementById(focusedId)?.focus()
  }

  function rows (l) {
    const toggle = () => { open.has(l.id) ? open.delete(l.id) : open.add(l.id); render(lastItems.flatMap((x) => rows(x))) }
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

  const el = [
    h('h3', {}, 'Logs'),
    h('div', { class: 'row' }, h('label', { for: id('filter') }, 'Show'), filter, newer, older),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Result'), h('th', {}, 'Status'), h('th', {}, 'Attempt'), h('th', {}, 'Duration'), h('th', {}, ''))),
      logBody))
  ]

  return {
    el,
    load,
    /** The timed refresh: only the first page moves (a person reading older pages keeps them). */
    refresh: async () => { if (pages.length === 1) await load() }
  }
}

// One callback of a domain (presence or messages): its state, its URL and Enabled box, its
// signing secret (reveal, copy, rotate), a test send, a replay since a chosen time, and its
// logs.
import { api } from './api.js'
import { busy, clear, copy, h, localInput, say, when } from './dom.js'
import { callbackLogs } from './logs.js'

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

/** The section for `kind` under the domain's API path `base`: `{ el, load, refresh }`. */
export function callbackSection (base, kind, title) {
  const path = `${base}/callbacks/${kind}`
  const id = (s) => `${kind}-${s}`
  const state = h('p', { class: 'state', 'aria-live': 'polite' })

  // --- URL and Enabled ---
  const url = h('input', { id: id('url'), type: 'url', placeholder: 'https://example.com/callback', maxlength: 2048, spellcheck: 'false' })
  // Ticked or unticked by the user and not saved yet: the timed refresh leaves it alone.
  let edited = false
  const enabled = h('input', { id: id('enabled'), type: 'checkbox', onchange: () => { edited = true } })
  const urlError = h('p', { class: 'error', role: 'alert', id: id('url-error') })
  url.setAttribute('aria-describedby', id('url-error'))
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

  // --- the signing secret ---
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

  // --- a test send ---
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

  // --- replay ---
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

  const logs = callbackLogs(path, id)

  const el = h('section', { 'aria-labelledby': id('h'), 'data-kind': kind },
    h('h2', { id: id('h') }, title),
    state,
    form,
    h('div', { class: 'row' }, h('span', {}, 'Signing secret:'), secretCode, reveal, copyButton, rotate),
    h('div', { class: 'row' }, testButton),
    testOut,
    replayForm,
    logs.el)

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
    await logs.load()
  }

  async function refresh () {
    const cb = show(await api('GET', path))
    // The server may have switched it off meanwhile: the box says so, unless being edited.
    if (!edited) enabled.checked = cb.enabled
    await logs.refresh()
  }

  return { el, load, refresh }
}

// Building the page. Every text that comes from users or receivers is put in the page as
// text (textContent, through h()), never as HTML.

/** An element with attributes, handlers (on*) and children; strings become text nodes. */
export function h (tag, attrs = {}, ...children) {
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

export function append (el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

export function clear (el, ...children) {
  el.replaceChildren()
  append(el, children)
}

/** Unix seconds in the browser's own locale and time zone. */
export const when = (sec) => sec === null || sec === undefined ? '—' : new Date(sec * 1000).toLocaleString()

/** A datetime-local field's value for a time in ms. */
export function localInput (ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

const notice = document.getElementById('notice')

/** A line in the page's status region (read out by screen readers). */
export function say (text) {
  clear(notice, text ? h('p', {}, text) : null)
}

/** Runs an action for a button: disables it meanwhile and shows errors where they belong. */
export async function busy (button, fn, errorEl) {
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

export async function copy (text, button) {
  try {
    await navigator.clipboard.writeText(text)
    button.textContent = 'Copied'
  } catch {
    button.textContent = 'Copy failed'
  }
  setTimeout(() => { button.textContent = 'Copy' }, 1500)
}

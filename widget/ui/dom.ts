// Building the interface's elements. User text only ever goes in as text (a string child
// becomes a text node), never as HTML.

type Attrs = Record<string, string | boolean | undefined | ((e: any) => void)>

/** An element with attributes, handlers (on…) and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Array<Node | string | null>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'className') el.className = String(v)
    else el.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children) if (c !== null) el.append(c)
  return el
}

/** Only http(s) URLs reach an src attribute (a javascript: or data: URL never does). */
export function safeUrl (u: string | null | undefined): string | null {
  if (typeof u !== 'string') return null
  try {
    const url = new URL(u)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null
  } catch { return null }
}

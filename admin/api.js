// The REST API with the key the panel was signed in with. The key lives in sessionStorage:
// it survives a reload, not the tab.

const KEY_STORAGE = 'mqchat.apiKey'

export const savedKey = () => sessionStorage.getItem(KEY_STORAGE)
export const saveKey = (key) => sessionStorage.setItem(KEY_STORAGE, key)
export const forgetKey = () => sessionStorage.removeItem(KEY_STORAGE)

export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

let unauthorized = () => {}

/** What to do when the server answers 401 (the key stopped working while signed in). */
export function onUnauthorized (fn) {
  unauthorized = fn
}

export async function api (method, path, body) {
  const headers = { authorization: `Bearer ${savedKey() ?? ''}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const data = await res.json().catch(() => ({}))
  if (!res.ok) {
    const e = data.error ?? { code: 'http_' + res.status, message: res.statusText }
    if (res.status === 401) unauthorized()
    throw new ApiError(res.status, e.code, e.message)
  }
  return data
}
